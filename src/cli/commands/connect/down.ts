import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const result = await (await context.app.connection()).down(stringArg(input, 'target'));
  return {
    result,
    human: () => result.action === 'already-gone'
      ? `${result.container} on ${result.target} was already removed (outside mltoolbox); forgot it. The project files stay in ${result.filesKept}`
      : `removed ${result.container} on ${result.target}; the project files stay in ${result.filesKept}`,
  };
};
