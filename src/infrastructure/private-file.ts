import { uniqueHex } from '../core/digest.ts';
import { chmod, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  /** The file's mode (default 0600: only the user reads it). */
  mode?: number;
  /** Copy the current version here first (same mode), itself atomically. */
  backup?: string;
}

/**
 * Writes a file so that a reader sees the old or the new content, never half
 * of one: a temp file beside it (created with the final mode, so the content
 * is never readable by others), fsynced, then renamed over the old one. The
 * folder is created 0700 when missing. Errors are the raw fs errors; callers
 * say what the file was for.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${uniqueHex(4)}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // open() applies the umask: set the mode asked for exactly.
    await chmod(temp, mode);
    if (options.backup && (await exists(file))) {
      const backupTemp = `${temp}.bak`;
      await copyFile(file, backupTemp);
      await chmod(backupTemp, mode);
      await rename(backupTemp, options.backup);
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    await rm(`${temp}.bak`, { force: true });
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
