import { fileURLToPath } from 'node:url';
import { run, type RunResult } from './process.ts';

const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));

/**
 * Runs the BUILT binary (bin/mltoolbox.js -> dist/), as a user would: a real
 * process with its own argv, env, stdin, exit code. `npm run build` first
 * (scripts/test.sh does).
 */
export function runMltoolbox(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], { env: options.env, cwd: options.cwd, input: options.input, timeoutMs: options.timeoutMs ?? 120_000 });
}
