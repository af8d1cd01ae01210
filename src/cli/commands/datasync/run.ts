import { flagOption, listOption, stringArg, stringOption, type CommandInput, type CommandRun } from '../../command.ts';
import type { DataSyncOptions } from '../../../orchestrators/datasync/datasync-orchestrator.ts';

function options(direction: 'up' | 'down', input: CommandInput, signal: AbortSignal): DataSyncOptions {
  const pick = (name: string) => stringOption(input, name);
  const entries: [keyof DataSyncOptions, string | undefined][] = [
    ['target', stringArg(input, 'target')], ['remote', pick('remote')], ['localDir', pick('local-dir')], ['project', pick('project')],
    ['mode', pick('mode')], ['containerName', pick('container-name')], ['transfers', pick('transfers')], ['checkers', pick('checkers')],
    ['chunkSize', pick('chunk-size')], ['cutoff', pick('cutoff')], ['rcloneConfig', pick('rclone-config')],
  ];
  return {
    direction,
    ...Object.fromEntries(entries.filter(([, v]) => v !== undefined)),
    exclude: listOption(input, 'exclude'),
    dryRun: flagOption(input, 'dry-run'),
    signal,
  };
}

/** `datasync up` and `datasync down` differ only in direction. */
export const datasyncRun = (direction: 'up' | 'down'): CommandRun => async (context, input) => {
  const dataSync = await context.app.dataSync();
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    const result = await dataSync.run(options(direction, input, controller.signal));
    return {
      result,
      human: () => {
        if (result.dryRun) {
          return [`would copy ${result.source} -> ${result.destination} (rclone on ${result.where}):`, ...(result.changes.length ? result.changes.map((p) => `+ ${p}`) : ['  nothing'])].join('\n');
        }
        return `${result.filesTransferred} file(s) copied (${result.bytes} bytes) ${result.source} -> ${result.destination} on ${result.where} in ${(result.durationMs / 1000).toFixed(1)} s`;
      },
    };
  } finally {
    process.off('SIGINT', stop);
  }
};
