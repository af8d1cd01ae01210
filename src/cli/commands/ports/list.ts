import { stringArg, type CommandRun } from '../../command.ts';
import { describeForward } from './render.ts';

export const run: CommandRun = async (context, input) => {
  const forwards = await (await context.app.connection()).ports.list(stringArg(input, 'TARGET'));
  return {
    result: { forwards },
    human: () => (forwards.length === 0 ? 'no forwarded ports (add one: mltoolbox connect -p 8888)' : forwards.map((f) => describeForward(f, context.style)).join('\n')),
  };
};
