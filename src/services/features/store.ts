import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { readArchive, type ArchiveEntry } from './tar-read.ts';

/**
 * The client-side feature cache: each fetched feature is unpacked once under
 * `<cacheDir>/<sha256 hex of the artifact>/` and reused while that digest is
 * what the lockfile pins, so a connect with a lockfile and a warm cache
 * touches no network at all.
 */
const COMPLETE = '.mltoolbox-complete';

export function cacheFolder(cacheDir: string, digest: string): string {
  return join(cacheDir, digest.replace(/^sha256:/, ''));
}

export async function isCached(folder: string): Promise<boolean> {
  return (await stat(join(folder, COMPLETE)).catch(() => undefined)) !== undefined;
}

/** Unpacks an archive into the cache (atomically: a half-written folder is never used). */
export async function unpackToCache(folder: string, archive: Buffer): Promise<void> {
  const entries = readArchive(archive);
  const temp = `${folder}.${process.pid}.${Date.now()}.tmp`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    await writeEntries(temp, entries);
    await writeFile(join(temp, COMPLETE), '');
    await rm(folder, { recursive: true, force: true });
    await mkdir(dirname(folder), { recursive: true });
    await rename(temp, folder);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function writeEntries(root: string, entries: readonly ArchiveEntry[]): Promise<void> {
  for (const entry of entries) {
    const path = join(root, entry.path);
    if (entry.type === 'directory') {
      await mkdir(path, { recursive: true });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    if (entry.type === 'symlink') {
      await rm(path, { force: true });
      await symlink(entry.target!, path);
    } else {
      await writeFile(path, entry.data!);
      // The owner can always read and write; the execute bits are kept (install.sh).
      await chmod(path, (entry.mode & 0o755) | 0o600);
    }
  }
}

/**
 * A content hash of a local feature folder: every file's path, mode and
 * bytes, sorted, so an edit to install.sh rebuilds and nothing else does.
 */
export async function folderDigest(folder: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const rel = relative(folder, path);
      const info = await lstat(path);
      if (info.isDirectory()) {
        hash.update(`d\0${rel}\n`);
        await walk(path);
      } else if (info.isSymbolicLink()) {
        hash.update(`l\0${rel}\0${await readlink(path)}\n`);
      } else if (info.isFile()) {
        hash.update(`f\0${rel}\0${(info.mode & 0o111) !== 0 ? 'x' : '-'}\0`).update(await readFile(path)).update('\n');
      }
    }
  };
  await walk(folder);
  return `sha256:${hash.digest('hex')}`;
}
