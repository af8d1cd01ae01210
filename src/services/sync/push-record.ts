import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex, uniqueHex } from '../../core/digest.ts';

/**
 * What the last push of one folder to one host folder listed: every path
 * rsync considered (its `-ii` output), and the key of the rsync arguments it
 * ran with. With it, the next push with the same key can ask both machines
 * for the treeDigest of those paths and skip rsync when they are equal
 * (docs/sync.md, "A sync with nothing to do").
 *
 * Why the list is enough: any path rsync would now send lies in a listed
 * folder, or below an entry of one. A new entry changes its folder's time on
 * that machine, and rsync gave both copies of each folder the same time. So
 * the list must come from the last rsync run for this pair and be complete:
 * the record is dropped before every push that changes the host (rsync or
 * rclone, with or without the fast channel) and written only after an rsync
 * run that succeeded (one that failed or was cut short may have changed the
 * host without listing it). The local folders' times after that run are
 * kept too: a new entry copied to the host by other means (a hand-run rsync
 * that also sets the folder's time) would otherwise look the same on both
 * sides.
 */
export interface PushRecord {
  /** pushKey of the arguments rsync ran with. */
  key: string;
  entries: string[];
  /** folderTimesDigest of the listed folders on this machine, taken after that run. */
  folders: string;
}

/** Past this many paths no record is kept (the digests would cost more than they save); rsync runs every time, as before. */
export const PUSH_RECORD_MAX_ENTRIES = 200_000;

export class PushRecords {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  read(pair: PushPair): PushRecord | undefined {
    try {
      const value = JSON.parse(readFileSync(this.file(pair), 'utf8')) as Partial<PushRecord>;
      if (typeof value.key !== 'string' || typeof value.folders !== 'string' || !Array.isArray(value.entries) || !value.entries.every((entry) => typeof entry === 'string')) return undefined;
      return { key: value.key, entries: value.entries, folders: value.folders };
    } catch {
      return undefined;
    }
  }

  /** Written whole or not at all (a rename), private to this user. */
  write(pair: PushPair, record: PushRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(pair);
    const temporary = `${file}.${uniqueHex(6)}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
      renameSync(temporary, file);
    } catch {
      rmSync(temporary, { force: true }); // a cache: without it the next push simply runs rsync
    }
  }

  drop(pair: PushPair): void {
    rmSync(this.file(pair), { force: true });
  }

  private file(pair: PushPair): string {
    return join(this.dir, `${sha256Hex(JSON.stringify([pair.localDir, pair.destination, pair.remoteDir])).slice(0, 32)}.json`);
  }
}

/** One local folder pushed to one host folder. */
export interface PushPair {
  localDir: string;
  destination: string;
  remoteDir: string;
}

/** The key of a push's rsync arguments (with the parts that do not change what it does left out by the caller). */
export function pushKey(args: readonly string[]): string {
  return sha256Hex(JSON.stringify(args));
}

/**
 * Whether a listing can stand for the tree: every name decoded cleanly (a
 * name that is not UTF-8 would be looked up under another name on both
 * machines and count as missing on both), and not too many.
 */
export function listingUsable(entries: readonly string[]): boolean {
  return entries.length > 0 && entries.length <= PUSH_RECORD_MAX_ENTRIES && !entries.some((entry) => entry.includes('\uFFFD') || entry.includes('\0'));
}
