import { printableName } from '../../../core/terminal-text.ts';
import { stringArg, type CommandRun } from '../../command.ts';
import { relayFirst } from './relay-first.ts';

export const run: CommandRun = async (context, input) => {
  const target = stringArg(input, 'target');
  const connection = await context.app.connection();
  // A configured relay answers first (the host's agent keeps the list); slow or down, the host's engine is asked over SSH.
  const relay = await (await context.app.relay()).containersSource();
  const result = await relayFirst(context, relay, () => connection.psFrom(target, relay!.source), () => connection.ps(target));
  return {
    result,
    human: () => {
      if (result.containers.length === 0) return `no mltoolbox containers on ${result.target}${result.via === 'relay' ? ' (via the relay)' : ''}`;
      const rows = result.containers.map((c) => [c.project === result.project ? '*' : ' ', printableName(c.name), printableName(c.project ?? '—'), c.state, printableName(c.status), printableName(c.image)]);
      const header = [' ', 'CONTAINER', 'PROJECT', 'STATE', 'STATUS', 'IMAGE'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
      return [line(header), ...rows.map(line), ...(result.via === 'relay' ? [`(${result.target}, via the relay)`] : [])].join('\n');
    },
  };
};
