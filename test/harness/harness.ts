import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDocker, removeSandboxLeftovers, type DockerEndpoint } from './docker.ts';
import { sandboxPrefix } from './sandbox.ts';
import { startSshd, type SshEndpoint } from './sshd.ts';

/** What a test needs to reach the harness; serialisable so test files (child processes) share one. */
export interface HarnessInfo {
  ssh: SshEndpoint;
  docker: DockerEndpoint;
  /** The harness's own temp folder (keys, configs, logs). */
  dir: string;
}

export interface Harness extends HarnessInfo {
  stop(): Promise<void>;
}

/** Starts the real infrastructure: sshd on loopback, a Docker Engine and the offline base image. */
export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'mlt-harness-'));
  // MLT_BENCH_QUIET_SHELL=1 (benchmarks): bash then skips ~/.bashrc on the host (it reads it over ssh only at
  // SHLVL < 2), so ssh costs what it costs where the login shell starts at once.
  const quietShell = process.env.MLT_BENCH_QUIET_SHELL === '1' ? ['SetEnv SHLVL=1'] : [];
  const sshd = await startSshd(join(dir, 'sshd'), { extraConfig: quietShell });
  let docker;
  try {
    docker = await ensureDocker(join(dir, 'docker'));
  } catch (error) {
    await sshd.stop();
    throw error;
  }
  return {
    ssh: sshd.endpoint,
    docker: docker.endpoint,
    dir,
    async stop() {
      await removeSandboxLeftovers(sandboxPrefix({ dir })).catch((error: unknown) => console.error(`could not remove test containers/images: ${String(error)}`));
      await sshd.stop();
      await docker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const HARNESS_ENV = 'MLT_HARNESS_INFO';
let privateHarness: Promise<HarnessInfo> | undefined;

/**
 * The harness for this test file: the one the global setup started for the
 * whole run (passed down in MLT_HARNESS_INFO), or — when a file runs alone —
 * a private one, stopped when the process exits.
 */
export function useHarness(): Promise<HarnessInfo> {
  const shared = process.env[HARNESS_ENV];
  if (shared) return Promise.resolve(JSON.parse(shared) as HarnessInfo);
  privateHarness ??= startHarness().then((harness) => {
    process.once('beforeExit', () => void harness.stop());
    return harness;
  });
  return privateHarness;
}
