import { uniqueHex } from '../core/digest.ts';
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A lock between mltoolbox processes on one machine: a file created with
 * O_EXCL holding the owner's pid. A lock whose owner is gone (killed, Ctrl-C
 * past our exit handler) is taken over; every lock this process holds is
 * removed at exit, Ctrl-C included.
 */
export interface LockOwner {
  pid: number;
  /** What the owner is doing, for the waiting side's message. */
  purpose: string;
}

export interface LockOptions {
  /** Give up after this long (default: wait as long as the owner lives). */
  timeoutMs?: number;
  /** Called once when the lock is busy, with its owner (say who we wait for). */
  onBusy?: (owner: LockOwner) => void;
  signal?: AbortSignal;
  /** Written into the lock for others' messages. */
  purpose?: string;
}

export class LockTimeoutError extends Error {
  readonly file: string;
  readonly owner: LockOwner | undefined;
  constructor(file: string, owner: LockOwner | undefined) {
    super(`lock ${file} is held by pid ${owner?.pid ?? '?'}`);
    this.file = file;
    this.owner = owner;
  }
}

function releaseSync(file: string, token: string): void {
  try {
    if (readFileSync(file, 'utf8').startsWith(token)) unlinkSync(file);
  } catch {
    // already gone
  }
}

function parseOwner(text: string): LockOwner | undefined {
  const [, pid, purpose] = /^\S+ (\d+) ?(.*)$/s.exec(text.trim()) ?? [];
  return pid ? { pid: Number(pid), purpose: purpose ?? '' } : undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock now or returns undefined with its current owner. */
export async function tryLock(file: string, purpose = ''): Promise<{ release: () => Promise<void> } | { owner: LockOwner | undefined }> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = uniqueHex(8);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(`${token} ${process.pid} ${purpose}\n`);
      } finally {
        await handle.close();
      }
      // Ctrl-C ends the process through process.exit: the lock goes with it.
      const onExit = () => releaseSync(file, token);
      process.once('exit', onExit);
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          process.off('exit', onExit);
          const text = await readFile(file, 'utf8').catch(() => '');
          if (text.startsWith(token)) await unlink(file).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released meanwhile: try again
    const owner = parseOwner(text);
    // Empty: its owner is writing it right now (or died doing so, long ago).
    if (text === '' && Date.now() - ((await stat(file).catch(() => undefined))?.mtimeMs ?? 0) < 5000) return { owner: undefined };
    // A lock without a live owner is left from a killed process: take it over.
    if (owner && processAlive(owner.pid)) return { owner };
    await unlink(file).catch(() => {});
  }
  return { owner: undefined };
}

/** Runs work holding the lock, waiting for it (polling) as long as options allow. */
export async function withLock<T>(file: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let told = false;
  let delay = 20;
  for (;;) {
    options.signal?.throwIfAborted();
    const attempt = await tryLock(file, options.purpose);
    if ('release' in attempt) {
      try {
        return await work();
      } finally {
        await attempt.release();
      }
    }
    if (!told && attempt.owner) {
      told = true;
      options.onBusy?.(attempt.owner);
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(file, attempt.owner);
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 250);
  }
}
