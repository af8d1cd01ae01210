import { lstat, mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RemoteRecord } from '../../db/index.ts';
import { withLock } from '../../infrastructure/file-lock.ts';
import { writeFileAtomic } from '../../infrastructure/private-file.ts';

/**
 * Saved remotes as ssh Host entries, so `ssh gpu`, VS Code Remote-SSH and
 * scp know them too. The entries live in a file mltoolbox owns
 * (`$XDG_CONFIG_HOME/mltoolbox/ssh_config`, rewritten whole on each change);
 * `~/.ssh/config` only gains one `Include` line, added with the user's
 * consent, at most once, byte for byte preserving everything else (v2
 * rewrote the user's file and lost entries).
 */
export const GENERATED_FILE = 'ssh_config';
export const BACKUP_SUFFIX = '.mltoolbox.bak';

export function generatedConfigPath(configDir: string): string {
  return join(configDir, GENERATED_FILE);
}

export function userConfigPath(homeDir: string): string {
  return join(homeDir, '.ssh', 'config');
}

const HEADER = [
  '# Written by mltoolbox from its saved remotes (mltoolbox remote add / remove).',
  '# Rewritten on every change: keep your own hosts in ~/.ssh/config.',
];

/**
 * One ssh_config value, or undefined when the format cannot hold it: values
 * with spaces are quoted, and a quote inside cannot be escaped; a control
 * character (a newline) would end the line and start a directive of its own.
 * `%` is ssh's token prefix (`%%` is a literal one); `${` an environment expansion.
 */
export function sshConfigValue(value: string, tokens = false): string | undefined {
  if (value === '' || /[\u0000-\u001f\u007f"]|\$\{/.test(value)) return undefined;
  const escaped = tokens ? value.replaceAll('%', '%%') : value;
  return /[\s#]/.test(escaped) ? `"${escaped}"` : escaped;
}

function configValue(value: string): string {
  const written = sshConfigValue(value);
  if (written === undefined) throw new Error(`not an ssh_config value: ${JSON.stringify(value)}`);
  return written;
}

/** Aliases and host names: one bare word, never an option (`-`) nor a pattern (`*`, `!`). */
const SAFE_WORD = /^[A-Za-z0-9_[][A-Za-z0-9_.:%+[\]-]*$/;
/** A HostName may also be an IPv6 address that starts with a colon (`::1`): a value, never an option or pattern there. */
const HOST_WORD = /^(?:[A-Za-z0-9_[]|::)[A-Za-z0-9_.:%+[\]-]*$/;

/** How a record is named in a comment: the alias, or its escaped form when it is not a plain word. */
function commentName(alias: string): string {
  return SAFE_WORD.test(alias) ? alias : JSON.stringify(alias).replace(/[\u0080-\uffff]/g, '?');
}

/** The Host block, or undefined when a value cannot be written safely (a record from before validation). */
function hostBlock(remote: RemoteRecord): string | undefined {
  const alias = SAFE_WORD.test(remote.alias) ? remote.alias : undefined;
  const host = HOST_WORD.test(remote.host) ? remote.host.replaceAll('%', '%%') : undefined;
  const user = remote.user === null ? null : sshConfigValue(remote.user);
  const identity = remote.identityFile === null ? null : sshConfigValue(remote.identityFile, true);
  if (!alias || !host || user === undefined || identity === undefined) return undefined;
  return [
    `Host ${alias}`,
    `  HostName ${host}`,
    ...(user !== null ? [`  User ${user}`] : []),
    ...(remote.port !== null ? [`  Port ${Number(remote.port)}`] : []),
    ...(identity !== null ? [`  IdentityFile ${identity}`, '  IdentitiesOnly yes'] : []),
  ].join('\n');
}

/**
 * The generated file. `sshAliases` are saved hosts that are themselves Host
 * names of the user's ssh config: `HostName` cannot point at another alias
 * (its ProxyJump, keys … would not apply), so those get a comment instead.
 */
export function renderGeneratedConfig(remotes: readonly RemoteRecord[], sshAliases: ReadonlySet<string> = new Set()): string {
  const blocks = [...remotes].sort((a, b) => a.alias.localeCompare(b.alias)).map((remote) => {
    if (remote.alias === remote.host && remote.user === null && remote.port === null && remote.identityFile === null) {
      return `# ${commentName(remote.alias)}: the host's own name, nothing to add`;
    }
    if (sshAliases.has(remote.host)) return `# ${commentName(remote.alias)}: saved as ${commentName(remote.host)}, a Host of your ssh config (use ssh ${commentName(remote.host)})`;
    // Never a newline into the file: an unwritable entry is left out, named by a comment ssh ignores.
    return hostBlock(remote) ?? `# ${commentName(remote.alias)}: left out, a value holds characters ssh_config cannot hold (remove it and add it again)`;
  });
  return `${[...HEADER, '', ...blocks.flatMap((b) => [b, ''])].join('\n').trimEnd()}\n`;
}

/**
 * Rewrites the file under a lock. Pass the remotes as a function: they are
 * then read inside the lock, so of concurrent `remote add`s the last writer
 * writes every row (read outside, an earlier snapshot could win and drop one).
 */
export async function writeGeneratedConfig(file: string, remotes: readonly RemoteRecord[] | (() => readonly RemoteRecord[]), sshAliases?: ReadonlySet<string>): Promise<void> {
  await withLock(`${file}.lock`, () => writeFileAtomic(file, withEditorsInclude(renderGeneratedConfig(typeof remotes === 'function' ? remotes() : remotes, sshAliases), file), { mode: 0o600 }),
    { timeoutMs: 30_000, purpose: 'ssh_config' });
}

/** The editors' container entries (written by connect, docs/editors.md) live beside the generated file, Included from it. */
export const EDITORS_FILE = 'ssh_config.editors';

function editorsIncludeLine(file: string): string {
  return `Include "${join(dirname(file), EDITORS_FILE).replace(/"/g, '')}"`;
}

/** The generated text with the editors' Include after the header comments (once). */
export function withEditorsInclude(text: string, file: string): string {
  const line = editorsIncludeLine(file);
  if (text.split('\n').includes(line)) return text;
  const lines = text.split('\n');
  const at = lines.findIndex((l) => !l.startsWith('#'));
  lines.splice(at === -1 ? lines.length : at, 0, line);
  return lines.join('\n');
}

/** connect: the generated file exists and Includes the editors' entries (its remotes, if any, stay as they are). */
export async function ensureEditorsInclude(configDir: string): Promise<string> {
  const file = generatedConfigPath(configDir);
  // Under the same lock as remote add's rewrite: neither may drop the other's change.
  await withLock(`${file}.lock`, async () => {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    const next = withEditorsInclude(text ?? renderGeneratedConfig([]), file);
    if (next !== text) await writeFileAtomic(file, next, { mode: 0o600 });
  }, { timeoutMs: 30_000, purpose: 'ssh_config' });
  return file;
}

/** `~/…` when the file is under home (the line then works for a dotfiles repo on other machines too). */
export function includeLine(file: string, homeDir: string): string {
  const home = homeDir.replace(/\/+$/, '');
  const shown = file.startsWith(`${home}/`) ? `~/${file.slice(home.length + 1)}` : file;
  return `Include ${configValue(shown)}`;
}

function unquote(word: string): string {
  return word.length >= 2 && word.startsWith('"') && word.endsWith('"') ? word.slice(1, -1) : word;
}

/** Whether any `Include` line of the text already names the file (absolute or `~/` form). */
export function hasInclude(text: string, file: string, homeDir: string): boolean {
  const wanted = new Set([file, includeLine(file, homeDir).slice('Include '.length).replace(/^"|"$/g, '')]);
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*Include\s*(?:=\s*)?(.+?)\s*$/i.exec(line);
    if (!match) continue;
    const words = match[1]!.match(/"[^"]*"|\S+/g) ?? [];
    if (words.some((word) => wanted.has(unquote(word)))) return true;
  }
  return false;
}

/**
 * The user's config with the Include line first: ssh applies an Include only
 * where it stands, and a line after a `Host` block would belong to that block.
 * Every original byte follows unchanged; the line ending matches the file's.
 */
export function withIncludeFirst(original: Buffer, line: string): Buffer {
  const bom = original.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])) ? 3 : 0;
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  return Buffer.concat([original.subarray(0, bom), Buffer.from(`${line}${eol}`), original.subarray(bom)]);
}

export interface IncludeOutcome {
  action: 'present' | 'added';
  /** The file changed (a symlinked ~/.ssh/config is followed to its target). */
  configFile: string;
  /** The copy made before the first change, when there was a file to copy. */
  backup?: string;
}

/** Whether ~/.ssh/config already includes the generated file (no changes made). */
export async function includePresent(homeDir: string, file: string): Promise<boolean> {
  const text = await readFile(userConfigPath(homeDir), 'utf8').catch(() => '');
  return hasInclude(text, file, homeDir);
}

/** Adds the Include line to ~/.ssh/config unless it is there. Call only with the user's consent. */
export async function ensureInclude(homeDir: string, file: string): Promise<IncludeOutcome> {
  const sshDir = join(homeDir, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  let target = userConfigPath(homeDir);
  // A dotfiles manager's symlink stays a symlink: write where it points.
  if ((await lstat(target).catch(() => undefined))?.isSymbolicLink()) target = await realpath(target);
  const original = await readFile(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (original && hasInclude(original.toString('utf8'), file, homeDir)) return { action: 'present', configFile: target };
  const line = includeLine(file, homeDir);
  if (!original) {
    await writeFileAtomic(target, `${line}\n`, { mode: 0o600 });
    return { action: 'added', configFile: target };
  }
  const mode = (await stat(target)).mode & 0o777;
  const backup = `${userConfigPath(homeDir)}${BACKUP_SUFFIX}`;
  // The backup keeps the user's file as it was before mltoolbox first touched it.
  const hadBackup = await stat(backup).then(() => true, () => false);
  if (!hadBackup) await writeFileAtomic(backup, original, { mode });
  await writeFileAtomic(target, withIncludeFirst(original, line), { mode });
  return { action: 'added', configFile: target, ...(hadBackup ? {} : { backup }) };
}
