import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, run, runOk } from './process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MLTOOLBOX = join(ROOT, 'bin/mltoolbox.js');
const MLT = join(ROOT, 'bin/mlt.js');

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function track(child: ChildProcess): RunningProcess {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** `mltoolbox relay serve` from the built binary; resolves once it prints its URL (killed if it does not, within 60 s). */
export async function startRelay(env: NodeJS.ProcessEnv, args: readonly string[] = ['--port', '0']): Promise<RunningProcess & { url: string }> {
  const child = spawn(process.execPath, [MLTOOLBOX, 'relay', 'serve', '-v', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const running = track(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`relay serve did not start within 60 s:\n${running.output()}`));
    }, 60_000);
    const onData = () => {
      const match = /relay listening on (\S+)/.exec(running.output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay serve exited (${code}):\n${running.output()}`));
    });
  });
  return { ...running, url };
}

/** `mlt daemon` from the built binary, with a fake nvidia-smi printing a fixture. */
export function startDaemon(env: NodeJS.ProcessEnv, options: { url: string; token: string; fixture: string; intervalSeconds?: number }): RunningProcess {
  const child = spawn(process.execPath, [MLT, 'daemon', '--interval', String(options.intervalSeconds ?? 0.5)], {
    env: {
      ...env,
      PATH: `${join(ROOT, 'test/fixtures/relay/bin')}:${env.PATH ?? ''}`,
      FAKE_NVIDIA_SMI_FIXTURE: join(ROOT, 'test/fixtures/nvidia-smi', options.fixture),
      MLT_RELAY_URL: options.url,
      MLT_RELAY_TOKEN: options.token,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(child);
}

/** The newest PostgreSQL server binaries Debian's `postgresql` package installed. */
function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error('PostgreSQL is not installed: apt-get install postgresql (scripts/test.sh installs it)');
  return join(base, versions[0], 'bin');
}

/**
 * A throwaway PostgreSQL cluster: initdb into a temp folder, listening on a
 * free loopback port only (and a socket in that folder), password auth.
 * As root the server runs as the `postgres` user (it refuses root).
 */
export async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const bin = postgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'mlt-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    for (const path of [dir, join(dir, 'pwfile')]) chownSync(path, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (command: string, args: string[]) => (asRoot ? runOk('runuser', ['-u', 'postgres', '--', command, ...args], { timeoutMs: 60_000 }) : runOk(command, args, { timeoutMs: 60_000 }));
  await as(join(bin, 'initdb'), ['-D', data, '-U', 'relay', '-A', 'scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`, '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  await as(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  return {
    url: `postgresql://relay:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
