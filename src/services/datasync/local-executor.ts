import { isCommandNotFound, runProcess, type ProcessRunner } from '../../infrastructure/process.ts';
import type { RcloneExecutor } from './types.ts';

/** Runs rclone on this machine, with this process's environment plus the request's. */
export function localRcloneExecutor(options: { env: NodeJS.ProcessEnv; runner?: ProcessRunner }): RcloneExecutor {
  const runner = options.runner ?? runProcess;
  return {
    mode: 'local',
    where: 'this machine',
    installHint: 'install rclone (Debian/Ubuntu: sudo apt-get install rclone; others: https://rclone.org/install/)',
    async run(argv, { env, onStderr, signal }) {
      try {
        const result = await runner(argv[0]!, argv.slice(1), { env: { ...options.env, ...env }, onStderr, ...(signal ? { signal } : {}) });
        return { code: result.code ?? 128, stderr: result.stderr };
      } catch (error) {
        if (isCommandNotFound(error)) return { code: 127, stderr: '', notFound: true };
        throw error;
      }
    },
  };
}
