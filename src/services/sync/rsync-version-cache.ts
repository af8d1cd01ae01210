import { constants, type Stats } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../infrastructure/private-file.ts';

/**
 * `rsync --version` output kept on disk, so a warm sync starts no process
 * before the transfer (~100 ms under load). The entry is keyed by the binary
 * the spawn would run (found on the same PATH), its size, mtime and inode:
 * an upgraded, replaced or re-linked rsync misses and is asked again.
 */
export interface RsyncVersionCache {
  /** The cached output for this rsync, or undefined (then `key` is what to store it under). */
  read(): Promise<{ stdout: string | undefined; key: string | undefined }>;
  write(key: string, stdout: string): Promise<void>;
}

interface Entry {
  key: string;
  stdout: string;
}

export function rsyncVersionCache(file: string, program: string, env: NodeJS.ProcessEnv): RsyncVersionCache {
  return {
    async read() {
      const key = await binaryKey(program, env);
      if (key === undefined) return { stdout: undefined, key };
      const entry = await readFile(file, 'utf8').then(parseEntry, () => undefined);
      return { stdout: entry?.key === key ? entry.stdout : undefined, key };
    },
    async write(key, stdout) {
      // A cache: a read-only or full disk only costs the next sync one `rsync --version`.
      await writeFileAtomic(file, JSON.stringify({ key, stdout } satisfies Entry), { mode: 0o600 }).catch(() => {});
    },
  };
}

function parseEntry(text: string): Entry | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { key, stdout } = value as Record<string, unknown>;
    return typeof key === 'string' && typeof stdout === 'string' ? { key, stdout } : undefined;
  } catch {
    return undefined;
  }
}

/** Identifies the file `spawn(program)` runs: its path, then size, mtime and inode (of the symlink's target). */
async function binaryKey(program: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined; // PATHEXT and friends: not worth mirroring
  const found = await findExecutable(program, env);
  if (!found) return undefined;
  const { path, stats } = found;
  return JSON.stringify([path, stats.size, stats.mtimeMs, stats.ino, stats.dev]);
}

async function findExecutable(program: string, env: NodeJS.ProcessEnv): Promise<{ path: string; stats: Stats } | undefined> {
  const candidates = program.includes('/') ? [resolve(program)] : (env.PATH ?? '').split(delimiter).map((dir) => join(isAbsolute(dir) ? dir : resolve(dir || '.'), program));
  for (const path of candidates) {
    const stats = await stat(path).catch(() => undefined);
    if (!stats?.isFile()) continue;
    if (await access(path, constants.X_OK).then(() => true, () => false)) return { path, stats };
  }
  return undefined;
}
