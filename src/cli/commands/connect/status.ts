import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const result = await (await context.app.connection()).status(stringArg(input, 'target'));
  return {
    result,
    human: () => [
      `target     ${result.target}`,
      `project    ${result.project}${result.remoteDir ? ` (${result.remoteDir})` : ''}`,
      `container  ${result.container ? `${result.container.name} ${result.container.state} (${result.container.status})` : 'none — run mltoolbox connect'}`,
      ...result.forwards.map((f) => `port       127.0.0.1:${f.local} -> container :${f.container}`),
      `last sync  ${result.lastSync ? result.lastSync.at : 'never'}`,
    ].join('\n'),
  };
};
