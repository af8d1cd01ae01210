import { HARNESS_ENV, startHarness, type Harness } from './harness.ts';

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
  await harness?.stop();
}
