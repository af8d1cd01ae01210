import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, waitFor } from './process.ts';

/**
 * Debian's Podman serving its Docker-compatible API on a socket of its own
 * (own storage root, vfs, `default_ulimits = []`, which this machine needs),
 * started by the test and stopped after. Needs root and the podman package.
 */
export interface PodmanService {
  socketPath: string;
  docker(args: readonly string[], timeoutMs?: number): ReturnType<typeof run>;
  stop(): Promise<void>;
}

export async function startPodman(): Promise<PodmanService> {
  if ((await run('sh', ['-c', 'command -v podman'])).code !== 0) throw new Error('podman is not installed: apt-get install podman (scripts/test.sh does this as root)');
  const dir = await mkdtemp(join(tmpdir(), 'mlt-pod-'));
  const socketPath = join(dir, 'podman.sock');
  await writeFile(join(dir, 'containers.conf'), '[containers]\ndefault_ulimits = []\n');
  const log = join(dir, 'podman.log');
  const child = spawn('podman', ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', 'system', 'service', '--time=0', `unix://${socketPath}`], {
    stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')], detached: true, env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') },
  });
  child.unref();
  const docker = (args: readonly string[], timeoutMs = 120_000) => run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` }, timeoutMs });
  await waitFor('podman to answer', async () => (await docker(['version'], 10_000)).code === 0, 60_000, 250).catch(async (error: Error) => {
    child.kill('SIGTERM');
    throw new Error(`${error.message}\n${(await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`);
  });
  return {
    socketPath,
    docker,
    async stop() {
      const containers = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (containers.length) await docker(['rm', '-f', ...containers]);
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await run('podman', ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs', 'system', 'reset', '-f'], { timeoutMs: 60_000, env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') } }).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
}
