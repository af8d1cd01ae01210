import { stringArg, type CommandRun } from '../../command.ts';
import { describeGpuStatus } from '../../../orchestrators/connection/connection-orchestrator.ts';
import { describeIdle } from '../../../orchestrators/provisioning/idle-arm.ts';
import { describeForward } from '../ports/render.ts';
import { formatLastUsed } from '../remote/render.ts';
import { relayFirst } from './relay-first.ts';

/**
 * `mlt-x running, started 5 min ago` or `mlt-x exited (code 137), 2 h ago`: the engine's state once,
 * then what it adds (times and exit code only when the source knows them; the relay's does not).
 */
export function describeContainer(container: { name: string; state: string; startedAt?: string; finishedAt?: string; exitCode?: number }, now: Date): string {
  const when = (iso: string | undefined) => (iso && !iso.startsWith('0001-') ? formatLastUsed(iso, now) : undefined);
  if (container.state === 'running') {
    const started = when(container.startedAt);
    return `${container.name} running${started ? `, started ${started}` : ''}`;
  }
  const finished = when(container.finishedAt);
  return `${container.name} ${container.state}${container.state === 'exited' && container.exitCode !== undefined ? ` (code ${container.exitCode})` : ''}${finished ? `, ${finished}` : ''}`;
}

export const run: CommandRun = async (context, input) => {
  const target = stringArg(input, 'target');
  const connection = await context.app.connection();
  // A configured relay answers first (no SSH round trip); slow (relay.timeout_ms) or down, the host is asked directly.
  const relay = await (await context.app.relay()).statusSource();
  const result = await relayFirst(context, relay, () => connection.statusFrom(target, relay!.source), () => connection.status(target));
  return {
    result,
    human: () => [
      `target     ${result.target}${result.via === 'relay' ? ' (via the relay)' : ''}`,
      `project    ${result.project}${result.remoteDir ? ` (${result.remoteDir})` : ''}`,
      `container  ${result.container ? describeContainer(result.container, new Date()) : 'none — run mltoolbox connect'}`,
      ...result.forwards.map((f) => `port       ${describeForward(f, context.style)}`),
      ...describeGpuStatus(result.gpu).map((line) => `gpu        ${line}`),
      `last sync  ${result.lastSync ? result.lastSync.at : 'never'}`,
      ...(result.instance ? [
        `instance   ${result.instance.backend} ${result.instance.instanceType} ${result.instance.state}, $${result.instance.pricePerHour.toFixed(2)}/h, $${result.instance.spendUsd.toFixed(2)} so far`,
        `idle       ${describeIdle(result.instance.idle)}`,
      ] : []),
      ...(result.sshHost ? [`editor     ssh ${result.sshHost}`] : []),
    ].join('\n'),
  };
};
