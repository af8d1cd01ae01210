import { stringArg, type CommandRun } from '../../command.ts';
import { describeGpuStatus } from '../../../orchestrators/connection/gpu-status.ts';
import { describeForward } from '../ports/render.ts';

export const run: CommandRun = async (context, input) => {
  const result = await (await context.app.connection()).status(stringArg(input, 'target'));
  return {
    result,
    human: () => [
      `target     ${result.target}`,
      `project    ${result.project}${result.remoteDir ? ` (${result.remoteDir})` : ''}`,
      `container  ${result.container ? `${result.container.name} ${result.container.state} (${result.container.status})` : 'none — run mltoolbox connect'}`,
      ...result.forwards.map((f) => `port       ${describeForward(f, context.style)}`),
      ...describeGpuStatus(result.gpu).map((line) => `gpu        ${line}`),
      `last sync  ${result.lastSync ? result.lastSync.at : 'never'}`,
    ].join('\n'),
  };
};
