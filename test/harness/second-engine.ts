import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, waitFor } from './process.ts';

/**
 * A second Docker Engine on this machine with its own data root and socket:
 * a "host" whose images really differ from the local engine's (image transfer
 * tests). It gets a bridge of its own (never `--bridge=none`: dockerd then
 * deletes the machine's docker0, which the main engine needs) and no iptables
 * rules; containers on it use network mode none. Needs root.
 */
export interface SecondEngine {
  socketPath: string;
  docker(args: readonly string[], timeoutMs?: number): ReturnType<typeof run>;
  stop(): Promise<void>;
}

export async function startSecondEngine(): Promise<SecondEngine> {
  if (process.getuid?.() !== 0) throw new Error('a second Docker Engine needs root (scripts/test.sh runs as root on CI)');
  // Short: unix socket paths are limited to 108 bytes.
  const dir = await mkdtemp(join(tmpdir(), 'mlt-d2-'));
  const socketPath = join(dir, 'docker.sock');
  const log = join(dir, 'dockerd.log');
  const bridge = `mlt2-${dir.slice(-6).replace(/[^A-Za-z0-9]/g, 'x')}`;
  const octet = 1 + Math.floor(Math.random() * 250);
  for (const args of [['link', 'add', bridge, 'type', 'bridge'], ['addr', 'add', `10.254.${octet}.1/24`, 'dev', bridge], ['link', 'set', bridge, 'up']]) {
    const r = await run('ip', args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
  }
  const child = spawn('dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'),
    '--host', `unix://${socketPath}`, '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--ip-forward=false',
    '--containerd-namespace', `mlt2-${dir.slice(-6)}`, '--containerd-plugins-namespace', `mlt2p-${dir.slice(-6)}`,
  ], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')], detached: true });
  child.unref();
  const docker = (args: readonly string[], timeoutMs = 120_000) => run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` }, timeoutMs });
  await waitFor('the second dockerd to answer', async () => (await docker(['version'], 10_000)).code === 0, 60_000, 250).catch(async (error: Error) => {
    child.kill('SIGTERM');
    await run('ip', ['link', 'delete', bridge], { timeoutMs: 10_000 }).catch(() => {});
    throw new Error(`${error.message}\n${(await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`);
  });
  return {
    socketPath,
    docker,
    async stop() {
      const containers = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (containers.length) await docker(['rm', '-f', ...containers]);
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await waitFor('the second dockerd to exit', async () => { try { process.kill(child.pid!, 0); return false; } catch { return true; } }, 20_000, 250).catch(() => {});
      }
      await run('umount', ['-R', join(dir, 'data')], { timeoutMs: 10_000 }).catch(() => {});
      await run('ip', ['link', 'delete', bridge], { timeoutMs: 10_000 }).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
}
