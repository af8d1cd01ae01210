import { HARNESS_ENV, startHarness, type Harness } from './harness.ts';
import { run } from './process.ts';

/**
 * node --test --test-global-setup: one harness (sshd + Docker + base image)
 * for every test file of the run. Test files are child processes; they find
 * it through MLT_HARNESS_INFO, which they inherit.
 */
let harness: Harness | undefined;

export async function globalSetup(): Promise<void> {
  harness = await startHarness();
  const { stop: _stop, ...info } = harness;
  process.env[HARNESS_ENV] = JSON.stringify(info);
}

export async function globalTeardown(): Promise<void> {
  // Fast-channel servers (mlt serve) that connects started from a sandbox's agent: they would stop when idle, an hour later.
  await run('pkill', ['-f', '/mlt-(sbx|sandbox)-[^ ]*/mlt serve --foreground']).catch(() => undefined);
  await harness?.stop();
}
