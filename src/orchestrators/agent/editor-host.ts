import { sha256Hex } from '../../core/digest.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { joinShellCommand } from '../../core/shell-quote.ts';
import { withLock } from '../../infrastructure/file-lock.ts';
import { writeFileAtomic } from '../../infrastructure/private-file.ts';
import type { Host } from '../../services/host/types.ts';
import { EDITORS_FILE, ensureEditorsInclude } from '../connection/ssh-include.ts';

/**
 * Editors land in the container: one ssh Host entry per project and host
 * whose ProxyCommand runs `mlt ssh-server` on the host, so `ssh ALIAS`, scp,
 * sftp, `ssh -L` and Remote-SSH reach the dev container. The container's
 * host key is pinned for the alias in mltoolbox's own known_hosts with
 * StrictHostKeyChecking yes: a changed key is refused, never accepted.
 *
 * The entries live in their own file (`ssh_config.editors`), Included by
 * the generated ssh_config, so `remote add` rewriting that file keeps them.
 */
export const KNOWN_HOSTS_FILE = 'known_hosts';

const ALIAS_WORD = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SAFE_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const MAX_PART = 60;

/**
 * One dot-separated part of an alias, safe for a `Host` line (no pattern
 * character `*?!,`, no space, quote, `%` token or line break): kept as it is
 * when it already is; otherwise every run of other characters becomes `-`
 * and a short hash of the original keeps two different names apart
 * (`alice@10.0.0.5:2222` → `alice-10-0-0-5-2222-700235`).
 */
export function aliasPart(name: string): string {
  if (SAFE_PART.test(name) && !name.includes('..') && name.length <= MAX_PART) return name;
  const readable = name.normalize('NFKD').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '').slice(0, MAX_PART - 7).replace(/[-_]+$/, '');
  const hash = sha256Hex(name).slice(0, 6);
  return readable ? `${readable}-${hash}` : `h-${hash}`;
}

/** `model-3f2a9c1d.gpu-box.mlt`: always one safe ssh_config word, whatever the host's name. */
export function editorAlias(slug: string, hostName: string): string {
  const alias = `${aliasPart(slug)}.${aliasPart(hostName)}.mlt`;
  if (!ALIAS_WORD.test(alias)) throw new Error(`editorAlias made an unsafe alias ${JSON.stringify(alias)}`);
  return alias;
}

/** A value for one ssh_config line: never a newline (it would start a new directive), never a NUL. */
function lineValue(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) throw new UserError('CONFIG_INVALID', `the ${what} for the editor's ssh entry contains a line break`, 'rename the folder or host so it has none');
  return value;
}

/** A path as one ssh_config word: in double quotes (ssh_config has no escape for a quote inside). */
function pathValue(path: string, what: string): string {
  lineValue(path, what);
  if (path.includes('"')) throw new UserError('CONFIG_INVALID', `the ${what} ${path} contains a double quote, which ssh_config cannot hold`, 'use a folder without " in its name');
  return `"${path}"`;
}

/**
 * The ProxyCommand: ssh to the host (the same options and master as
 * mltoolbox's own connection), running mlt there. ssh runs it with
 * `sh -c`, so every word is shell-quoted; `%` is ssh's token character
 * and is doubled.
 */
export function proxyCommand(sshArgs: readonly string[], mltPath: string, container: string): string {
  const remote = joinShellCommand([mltPath, '--project', container, 'ssh-server']);
  return lineValue(joinShellCommand(['ssh', ...sshArgs, remote]), 'ssh command').replace(/%/g, '%%');
}

export function renderEditorEntry(alias: string, knownHostsFile: string, command: string): string {
  return [
    `Host ${alias}`,
    `  HostKeyAlias ${alias}`,
    `  UserKnownHostsFile ${pathValue(knownHostsFile, 'known_hosts path')}`,
    '  StrictHostKeyChecking yes',
    `  ProxyCommand ${lineValue(command, 'ssh command')}`,
  ].join('\n');
}

const HEADER = '# Written by mltoolbox connect: one entry per project and host; the far end is the dev container.';

/** Replaces (or adds) the alias's block; other blocks stay as they are. */
export function withEntry(text: string, alias: string, block: string | undefined): string {
  const blocks = new Map<string, string>();
  let current: string[] | undefined;
  let name = '';
  for (const line of text.split('\n')) {
    const host = /^Host\s+(\S+)/.exec(line);
    if (host) {
      if (current) blocks.set(name, current.join('\n').trimEnd());
      name = host[1]!;
      current = [line];
    } else if (current) current.push(line);
  }
  if (current) blocks.set(name, current.join('\n').trimEnd());
  if (block === undefined) blocks.delete(alias);
  else blocks.set(alias, block);
  return `${[HEADER, '', ...[...blocks.keys()].sort().map((k) => `${blocks.get(k)}\n`)].join('\n').trimEnd()}\n`;
}

/** known_hosts with exactly one line for the alias. */
export function withPinnedKey(text: string, alias: string, publicKey: string): string {
  if (!/^ssh-ed25519 [A-Za-z0-9+/]+={0,2}$/.test(publicKey)) {
    throw new UserError('REMOTE_COMMAND_FAILED', 'the agent answered with no valid container host key', 'run mltoolbox agent install HOST to refresh the agent, then connect again');
  }
  const kept = text.split('\n').filter((line) => line.trim() !== '' && line.split(' ')[0] !== alias);
  return `${[...kept, `${alias} ${publicKey}`].join('\n')}\n`;
}

export interface EditorHostOptions {
  configDir: string;
  /** The machine that runs the agent (an SSH Host: its sshArgs go into the ProxyCommand). */
  host: Host;
  slug: string;
  container: string;
  mltPath: string;
}

/** Pins the container's key and writes its Host entry; returns the alias. */
export async function writeEditorHost(options: EditorHostOptions): Promise<string | undefined> {
  const { host } = options;
  const alias = editorAlias(options.slug, host.name);
  if (!host.sshArgs) return undefined;
  const result = await host.exec([options.mltPath, '--project', options.container, 'host-key'], { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new UserError('REMOTE_COMMAND_FAILED', `mlt host-key on ${host.name} failed: ${result.stderr.trim().split('\n').pop() || `exit code ${result.exitCode}`}`,
      `run it by hand to see why: ssh ${host.name} ${joinShellCommand([options.mltPath, '--project', options.container, 'host-key'])}`);
  }
  const publicKey = result.stdout.trim().split('\n').pop()?.trim() ?? '';
  const knownHosts = join(options.configDir, KNOWN_HOSTS_FILE);
  const entries = join(options.configDir, EDITORS_FILE);
  const command = proxyCommand(host.sshArgs, options.mltPath, options.container);
  // Read, change, write under one lock: connects of other projects or hosts write their own entries at the same time.
  await withLock(`${entries}.lock`, async () => {
    await writeFileAtomic(knownHosts, withPinnedKey(await readFile(knownHosts, 'utf8').catch(() => ''), alias, publicKey), { mode: 0o600 });
    await writeFileAtomic(entries, withEntry(await readFile(entries, 'utf8').catch(() => ''), alias, renderEditorEntry(alias, knownHosts, command)), { mode: 0o600 });
  }, { timeoutMs: 30_000, purpose: 'ssh_config.editors' });
  await ensureEditorsInclude(options.configDir);
  return alias;
}

/** The alias when connect wrote it (status shows it as sshHost). */
export async function existingEditorAlias(configDir: string, slug: string, hostName: string): Promise<string | undefined> {
  const alias = editorAlias(slug, hostName);
  const text = await readFile(join(configDir, EDITORS_FILE), 'utf8').catch(() => '');
  return text.split('\n').some((line) => line === `Host ${alias}`) ? alias : undefined;
}
