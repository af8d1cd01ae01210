import { printableName } from '../../../core/terminal-text.ts';
import { flagOption, stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const connection = await context.app.connection();
  const target = stringArg(input, 'target');
  const dryRun = flagOption(input, 'dry-run');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let result;
  try {
    // --watch, or sync.watch.enabled in the config (the orchestrator decides; --once and --dry-run push once).
    result = await connection.sync(target, {
      dryRun,
      once: flagOption(input, 'once'),
      watch: {
        always: flagOption(input, 'watch'),
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'watching') context.reporter.info(`Watching ${event.localDir} (Ctrl-C to stop)`);
          else if (event.type === 'sync-complete') context.reporter.success(`synced ${event.summary.filesTransferred} file(s), ${event.summary.deleted} deleted in ${event.summary.durationMs} ms`);
          else if (event.type === 'sync-failed') context.reporter.warn(`sync failed (${event.error.message})${event.retryInMs ? `; retrying in ${Math.round(event.retryInMs / 1000)} s` : ''}`);
        },
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  const { summary } = result;
  if (!summary) return { result: { target: result.target, remoteDir: result.remoteDir, watching: false } };
  return {
    result,
    human: () => {
      if (!dryRun) return `${summary.filesTransferred} file(s) sent (${summary.bytes} bytes), ${summary.deleted} deleted on ${result.target}:${result.remoteDir}`;
      // A name is one line, whatever bytes it holds: "ok.txt\n- train.py" must not print as a deletion.
      const line = (mark: string) => (p: string) => `${mark} ${printableName(p)}`;
      const list = [...summary.changes.added.map(line('+')), ...summary.changes.changed.map(line('~')), ...summary.changes.deleted.map(line('-'))];
      return [`would change on ${result.target}:${result.remoteDir}:`, ...(list.length ? list : ['  nothing'])].join('\n');
    },
  };
};
