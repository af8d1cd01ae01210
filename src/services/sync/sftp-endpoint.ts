import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { isCommandNotFound, type ProcessRunner } from '../../infrastructure/process.ts';
import type { RemoteShell } from './types.ts';

/**
 * What rclone's own SSH client (its sftp backend) needs to reach the host the
 * way our ssh does. rclone 1.60 (Debian bookworm) cannot run ssh itself (its
 * `ssh` option came in 1.64), so it cannot ride the shared master: it opens
 * its own connection with these values, resolved by `ssh -G` from the same
 * options and ssh_config our connection uses.
 */
export interface SftpEndpoint {
  host: string;
  port: number;
  user: string;
  /** The first identity file that exists and has no passphrase; none: the ssh agent. */
  keyFile?: string;
  /**
   * The known_hosts lines that apply (every UserKnownHostsFile and
   * GlobalKnownHostsFile; a HostKeyAlias entry renamed to the address rclone
   * dials). rclone always checks the host key against them: an unknown or
   * changed key fails, whatever StrictHostKeyChecking says.
   */
  knownHosts: string;
}

/** `ssh -G` output: every value of every keyword, in order. */
export function parseSshG(stdout: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space).toLowerCase();
    values.set(key, [...(values.get(key) ?? []), line.slice(space + 1).trim()]);
  }
  return values;
}

/** How known_hosts names a host at a port (`[host]:port` unless 22), as rclone's checker looks it up. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The known_hosts lines, with entries for `alias` (a HostKeyAlias) renamed to
 * `name`. Hashed entries for an alias cannot be renamed: they are kept as they
 * are (and so do not match, and the connection is refused — never accepted).
 */
export function knownHostsFor(text: string, alias: string | undefined, name: string): string {
  if (alias === undefined) return text;
  return text.split('\n').map((line) => {
    const fields = line.trim().split(/\s+/);
    const at = fields[0]?.startsWith('@') ? 1 : 0;
    const hosts = fields[at]?.split(',') ?? [];
    if (!hosts.includes(alias) && !hosts.some((host) => host.startsWith(`[${alias}]:`))) return line;
    fields[at] = name;
    return fields.join(' ');
  }).join('\n');
}

/**
 * Whether a private key file needs a passphrase: an OpenSSH key whose cipher is
 * not "none", a PEM key with Proc-Type ENCRYPTED, an encrypted PKCS#8 key. An
 * unreadable file counts as protected (rclone could not use it either).
 */
export function passphraseProtected(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return true;
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:\s*4,\s*ENCRYPTED/m.test(text)) return true;
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (body === undefined) return false;
  const bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (bytes.toString('latin1', 0, magic.length) !== magic || bytes.length < magic.length + 4) return false;
  const length = bytes.readUInt32BE(magic.length);
  return bytes.toString('latin1', magic.length + 4, magic.length + 4 + length) !== 'none';
}

function expandHome(path: string, homeDir: string): string | undefined {
  if (path === 'none' || path === '') return undefined;
  const expanded = path === '~' ? homeDir : path.startsWith('~/') ? join(homeDir, path.slice(2)) : path.replaceAll('%d', homeDir);
  // Other %-tokens (%u, %h, ...) would need ssh's own expansion: such a file is not read.
  return expanded.includes('%') ? undefined : expanded;
}

function unsupported(destination: string, what: string): UserError {
  return new UserError('SYNC_RCLONE_UNSUPPORTED', `sync.strategy rclone cannot reach ${destination}: it ${what}`,
    'rclone opens its own SSH connection and cannot go through another host or command; use sync.strategy: rsync for this host (it rides the shared ssh connection)',
    { data: { host: destination } });
}

/** Resolves the endpoint with `ssh -G` (no network) from the connection's own ssh options. */
export async function resolveSftpEndpoint(remote: RemoteShell, run: ProcessRunner, env: NodeJS.ProcessEnv, homeDir: string): Promise<SftpEndpoint> {
  if (!remote.sshArgs) throw unsupported(remote.destination, 'is not reached over ssh');
  let result;
  try {
    result = await run('ssh', ['-G', ...remote.sshArgs], { env, timeoutMs: 10_000 });
  } catch (error) {
    if (isCommandNotFound(error)) throw new UserError('SSH_NOT_INSTALLED', 'this needs the ssh program on this machine, and there is none on PATH', 'install the OpenSSH client (apt-get install openssh-client)');
    throw error;
  }
  if (result.code !== 0) {
    throw new UserError('SSH_UNREACHABLE', `ssh cannot read the settings for ${remote.destination}: ${result.stderr.trim().split('\n')[0] ?? `exit ${result.code}`}`,
      'check your ssh config for this host (ssh -G HOST)');
  }
  return endpointFrom(parseSshG(result.stdout), remote.destination, homeDir);
}

/** The endpoint from `ssh -G`'s values; a proxied host is refused (rclone dials the host itself). */
export function endpointFrom(values: Map<string, string[]>, destination: string, homeDir: string): SftpEndpoint {
  const first = (key: string) => values.get(key)?.[0];
  const all = (...keys: string[]) => keys.flatMap((key) => values.get(key) ?? []);
  const proxy = [first('proxyjump'), first('proxycommand')].find((value) => value !== undefined && value !== 'none');
  if (proxy !== undefined) throw unsupported(destination, `is reached through a proxy (${proxy.split(' ')[0]})`);
  const host = first('hostname') ?? destination;
  const port = Number(first('port') ?? 22);
  const alias = first('hostkeyalias');
  const existing = (files: string[]) => files.map((file) => expandHome(file, homeDir)).filter((file): file is string => file !== undefined && existsSync(file));
  const knownHostsFiles = existing(all('userknownhostsfile', 'globalknownhostsfile').flatMap((list) => list.split(/\s+/)));
  const knownHosts = knownHostsFiles.map((file) => knownHostsFor(readFileSync(file, 'utf8'), alias === 'none' ? undefined : alias, knownHostsName(host, port))).join('\n');
  // rclone (1.60) fails on a passphrase-protected key file even when the agent holds the key: such a key is left to the agent.
  const [keyFile] = existing(all('identityfile')).filter((file) => !passphraseProtected(file));
  return { host, port, user: first('user') ?? '', knownHosts, ...(keyFile ? { keyFile } : {}) };
}
