import { sha256Hex } from '../../core/digest.ts';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where ssh's ControlMaster sockets live. A unix socket path must fit in
 * sun_path (104 bytes on macOS, 108 on Linux), and ssh first binds a
 * temporary name (the path plus 17 characters), so the folder must be short:
 * candidates that are too long are skipped for a short one under /tmp.
 */
const MAX_SOCKET_PATH = 100;
const TEMP_SUFFIX = 17; // ssh binds "<path>.<16 random chars>" and renames it
const NAME_LENGTH = 16;

export function controlDirCandidates(env: NodeJS.ProcessEnv, stateDir: string): string[] {
  const uid = process.getuid?.() ?? 0;
  const candidates: string[] = [];
  if (env.XDG_RUNTIME_DIR) candidates.push(join(env.XDG_RUNTIME_DIR, 'mltoolbox', 'ssh'));
  candidates.push(join(stateDir, 'ssh'));
  candidates.push(join(tmpdir(), `mlt-ssh-${uid}`));
  candidates.push(`/tmp/mlt-ssh-${uid}`);
  return candidates;
}

export function fitsSocketPath(dir: string): boolean {
  return Buffer.byteLength(dir) + 1 + NAME_LENGTH + TEMP_SUFFIX <= MAX_SOCKET_PATH;
}

/**
 * The first candidate that is short enough and private: a real folder (not
 * a symlink) owned by us with mode 0700, since anyone who can open a
 * control socket can run commands as us on the host. Undefined when none
 * qualifies; the caller then runs ssh without multiplexing.
 */
export function ensurePrivateDir(candidates: readonly string[]): string | undefined {
  const uid = process.getuid?.();
  for (const dir of candidates) {
    if (!fitsSocketPath(dir)) continue;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const info = lstatSync(dir);
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
      if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
      return dir;
    } catch {
      continue;
    }
  }
  return undefined;
}

const socketNames = new Map<string, string>();

/** A short, stable socket name for one connection identity (asked for by every ssh argv a command builds: remembered). */
export function controlSocketName(identity: readonly unknown[]): string {
  const key = JSON.stringify(identity);
  let name = socketNames.get(key);
  if (name === undefined) socketNames.set(key, (name = sha256Hex(key).slice(0, NAME_LENGTH)));
  return name;
}
