import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, runOk, waitFor } from './process.ts';

/** How tests reach the harness host: always through these files, never ~/.ssh. */
export interface SshEndpoint {
  host: '127.0.0.1';
  port: number;
  user: string;
  /** An ssh_config Host alias that carries port, user, key and known_hosts. */
  alias: string;
  identityFile: string;
  sshConfigFile: string;
  knownHostsFile: string;
}

export interface RunningSshd {
  endpoint: SshEndpoint;
  process: ChildProcess;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
export const TEST_HOST_ALIAS = 'mlt-test-host';

/**
 * A real OpenSSH server on 127.0.0.1:<free port>, as root, with a throwaway
 * host key and one authorized test key. It plays the "remote GPU host".
 * `extraConfig`: more sshd_config lines (e.g. `SetEnv PATH=…` for a host
 * without some tool).
 */
export async function startSshd(dir: string, options: { extraConfig?: readonly string[] } = {}): Promise<RunningSshd> {
  await mkdir(dir, { recursive: true });
  await mkdir('/run/sshd', { recursive: true }); // privilege separation dir sshd insists on
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const clientKey = join(dir, 'id_ed25519');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mltoolbox-test-host', '-f', hostKey]);
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mltoolbox-test-client', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${clientKey}.pub`), { mode: 0o600 });

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The key files live in a temp dir with ordinary modes.
      'StrictModes no',
      'AllowTcpForwarding yes',
      'AllowStreamLocalForwarding yes',
      'StreamLocalBindUnlink yes',
      'X11Forwarding no',
      // Many test files share this host at once.
      'MaxSessions 100',
      'MaxStartups 100:30:200',
      'LogLevel ERROR',
      'Subsystem sftp internal-sftp',
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(`sshd on 127.0.0.1:${port}`, () => portAccepts(port), 10_000).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\nsshd said:\n${log}`);
  });

  // Never keep a test process alive: a file run alone stops its private harness on beforeExit.
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  const knownHostsFile = join(dir, 'known_hosts');
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  const sshConfigFile = join(dir, 'ssh_config');
  await writeFile(
    sshConfigFile,
    [
      `Host ${TEST_HOST_ALIAS}`,
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User root',
      `  IdentityFile ${clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHostsFile}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
  );
  return {
    endpoint: { host: '127.0.0.1', port, user: 'root', alias: TEST_HOST_ALIAS, identityFile: clientKey, sshConfigFile, knownHostsFile },
    process: child,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

/**
 * The same machine as a host that lacks some tools: an sshd whose sessions
 * get a PATH of links to every program on the usual PATH except the names
 * `without` matches (e.g. /^docker/ for a Podman-only or a fresh host).
 * stop() also removes the folder.
 */
export async function startSshdWithout(dir: string, without: RegExp): Promise<RunningSshd & { bin: string }> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  for (const from of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    for (const name of await readdir(from).catch(() => [] as string[])) {
      if (!without.test(name)) await symlink(join(from, name), join(bin, name)).catch(() => undefined); // the first one wins, as on PATH
    }
  }
  const sshd = await startSshd(join(dir, 'sshd'), { extraConfig: [`SetEnv PATH=${bin}`] });
  return {
    ...sshd,
    bin,
    async stop() {
      await sshd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function portAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
