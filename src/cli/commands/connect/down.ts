import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const result = await (await context.app.connection()).down(stringArg(input, 'target'));
  return { result, human: () => `removed ${result.container} on ${result.target}; the project files stay in ${result.filesKept}` };
};
