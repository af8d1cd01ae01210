import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const result = await (await context.app.connection()).stop(stringArg(input, 'target'));
  return { result, human: () => `stopped ${result.container} on ${result.target}` };
};
