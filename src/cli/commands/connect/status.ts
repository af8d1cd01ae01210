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
      ...(result.instance ? [
        `instance   ${result.instance.backend} ${result.instance.instanceType} ${result.instance.state}, $${result.instance.pricePerHour.toFixed(2)}/h, $${result.instance.spendUsd.toFixed(2)} so far`,
        `idle       ${result.instance.idle.timeoutMinutes ? `${result.instance.idle.action} after ${result.instance.idle.timeoutMinutes} min idle — not armed: the host agent (mlt) is not installed` : 'off'}`,
      ] : []),
    ].join('\n'),
  };
};
