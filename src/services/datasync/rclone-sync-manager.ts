import { UserError } from '../../core/errors.ts';
import { buildRcloneArgs } from './rclone-args.ts';
import { RcloneOutput } from './rclone-output.ts';
import type { DataSyncRequest, DataSyncSummary, RcloneExecutor } from './types.ts';

/** rclone exit statuses worth their own explanation (rclone docs, "Exit Code"). */
const EXIT_MEANING: Record<number, string> = {
  1: 'rclone rejected the command line',
  3: 'a folder was not found',
  4: 'a file was not found',
  5: 'a temporary error (network?)',
  6: 'some files could not be copied',
  7: 'a fatal error (quota, permissions?)',
  8: 'the transfer limit was reached',
};

/**
 * Copies a data folder to or from any rclone remote (cloud drives, S3,
 * SFTP, ...). The executor decides where rclone runs; this class builds its
 * argv, reads its JSON log for progress and a summary, and turns failures
 * into errors that say what to do.
 */
export class RcloneSyncManager {
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async transfer(request: DataSyncRequest, executor: RcloneExecutor): Promise<DataSyncSummary> {
    const started = this.#now();
    const output = new RcloneOutput(request.onProgress, request.onLog);
    const env: Record<string, string> = request.configFile ? { RCLONE_CONFIG: request.configFile } : {};
    const result = await executor.run(['rclone', ...buildRcloneArgs(request)], {
      env,
      onStderr: (chunk) => output.push(chunk),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    output.end();
    const notFound = result.notFound || result.code === 127 || (result.code === 126 && /not found|no such file/i.test(result.stderr));
    if (notFound) {
      throw new UserError('RCLONE_NOT_FOUND', `rclone is not installed on ${executor.where}`, executor.installHint, { data: { mode: executor.mode } });
    }
    if (result.code !== 0) {
      const said = output.errors.at(-1) ?? output.otherLines.at(-1) ?? 'no message';
      const meaning = EXIT_MEANING[result.code];
      throw new UserError('DATASYNC_FAILED',
        `rclone failed on ${executor.where} (exit ${result.code}${meaning ? `: ${meaning}` : ''}): ${said.split('\n')[0]}`,
        result.code === 3 || /directory not found|didn't find section|not found in config/i.test(said)
          ? `check the folder and the rclone remote (rclone listremotes${request.configFile ? ` with RCLONE_CONFIG=${request.configFile}` : ''}); run again with -v for rclone's full log`
          : 'run again with -v to see the full rclone log',
        { data: { exitCode: result.code, errors: output.errors.slice(-10) } });
    }
    const [source, destination] = request.direction === 'up' ? [request.localDir, request.remotePath] : [request.remotePath, request.localDir];
    const stats = output.stats;
    return {
      direction: request.direction,
      dryRun: request.dryRun ?? false,
      source,
      destination,
      filesTransferred: request.dryRun ? output.changes.length : (stats?.transfers ?? output.changes.length),
      bytes: stats?.bytes ?? 0,
      checks: stats?.checks ?? 0,
      errors: stats?.errors ?? 0,
      durationMs: this.#now() - started,
      changes: output.changes,
    };
  }
}
