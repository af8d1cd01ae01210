import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { HarnessInfo } from '../../test/harness/index.ts';

/**
 * A loopback TCP relay in front of the harness sshd that counts the
 * connections it accepts: the ground truth for "how many SSH connections
 * did this command open" (the harness sshd logs at LogLevel ERROR only).
 * It comes with its own ssh config and known_hosts (same alias, key and
 * host key; the relay's port), so a sandbox pointed at them goes through it.
 */
export interface TcpCounter {
  port: number;
  sshConfigFile: string;
  knownHostsFile: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpCounter(harness: HarnessInfo, dir: string): Promise<TcpCounter> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    const upstream = connect({ host: '127.0.0.1', port: harness.ssh.port });
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  server.unref();

  mkdirSync(dir, { recursive: true });
  const knownHostsFile = join(dir, 'known_hosts');
  const hostKey = readFileSync(harness.ssh.knownHostsFile, 'utf8').trim().split(' ').slice(1).join(' ');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKey}\n`);
  const sshConfigFile = join(dir, 'ssh_config');
  writeFileSync(sshConfigFile, readFileSync(harness.ssh.sshConfigFile, 'utf8')
    .replace(/^(\s*Port\s+)\d+$/m, `$1${port}`)
    .replace(/^(\s*UserKnownHostsFile\s+).*$/m, `$1${knownHostsFile}`));

  return {
    port,
    sshConfigFile,
    knownHostsFile,
    get accepted() {
      return accepted;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
