import { HARNESS_ENV, startHarness, type Harness } from './harness.ts';
import { run } from './process.ts';

/**
 * node --test --test-global-setup: one harness (sshd + Docker + base image)
 * for every test file of the run. Test files are child processes; they find
 * it through MLT_HARNESS_INFO, which they inherit.
 */
let harness: Harness | undefined;
let startedAt = Date.now();

export async function globalSetup(): Promise<void> {
  startedAt = Date.now();
  harness = await startHarness();
  const { stop: _stop, ...info } = harness;
  process.env[HARNESS_ENV] = JSON.stringify(info);
}

export async function globalTeardown(): Promise<void> {
  // Fast-channel servers (mlt serve) this run's connects started (a sandbox's agent, or a pod's in ~/.local/bin):
  // they would stop when idle, an hour later. Only those younger than the run.
  const seconds = Math.ceil((Date.now() - startedAt) / 1000);
  const ps = await run('ps', ['-eo', 'pid=,etimes=,args=']).catch(() => undefined);
  for (const line of ps?.stdout.split('\n') ?? []) {
    const match = /^\s*(\d+)\s+(\d+)\s+\S*\/mlt serve --foreground/.exec(line);
    if (match && Number(match[2]) <= seconds) {
      try {
        process.kill(Number(match[1]), 'SIGTERM');
      } catch {
        // Gone already.
      }
    }
  }
  await harness?.stop();
}
