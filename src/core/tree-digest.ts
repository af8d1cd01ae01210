import { lstatSync, readlinkSync } from 'node:fs';
import { sha256Hex } from './digest.ts';

/**
 * What rsync compares, for a list of paths under one folder, as one SHA-256:
 * each path's type, permission bits, modification time in nanoseconds, and
 * its size (a file) or target (a symbolic link). Folders count by type,
 * permissions and time: a folder's time changes whenever an entry is added,
 * removed or renamed in it, so a new file next to listed ones shows up
 * without listing the folder again.
 *
 * A sync computes this on both machines over the paths its last rsync run
 * listed (docs/sync.md, "A sync with nothing to do"): equal digests mean
 * rsync -rlpt with nanosecond times (--modify-window=-1) would find nothing
 * to send, change or delete. The same function runs on both sides (the host
 * side in `mlt serve`), so they agree on the format by construction.
 *
 * `entries` are relative to `root` as rsync prints them: folders end with
 * '/', the root itself is './'. A path missing on this machine still counts
 * (as missing), so a deletion changes the digest.
 */
export async function treeDigest(root: string, entries: readonly string[]): Promise<string> {
  // node:crypto rather than core/digest's small hash: this hashes megabytes (its ~15 ms load is paid by the syncs that check).
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  const base = root.endsWith('/') ? root : `${root}/`;
  for (let at = 0; at < entries.length; at++) {
    // Let the other side's answer (and anything else waiting) in now and then: both machines work at once.
    if (at % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    const entry = entries[at]!;
    const path = base + entry;
    let stat;
    try {
      stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      stat = undefined; // unreadable: differs from the other side, which is what a sync should then do
    }
    if (!stat) hash.update(`${entry}\0-\n`);
    else if (stat.isFile()) hash.update(`${entry}\0f\0${stat.mode & 0o7777n}\0${stat.mtimeNs}\0${stat.size}\n`);
    else if (stat.isDirectory()) hash.update(`${entry}\0d\0${stat.mode & 0o7777n}\0${stat.mtimeNs}\n`);
    else if (stat.isSymbolicLink()) hash.update(`${entry}\0l\0${stat.mtimeNs}\0${readLink(path)}\n`);
    else hash.update(`${entry}\0o\0${stat.mode & 0o7777n}\0${stat.mtimeNs}\0${stat.rdev}\n`);
  }
  return hash.digest('hex');
}

const YIELD_EVERY = 1000;

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '\0unreadable';
  }
}

/**
 * The modification times of the listed folders (entries ending in '/') on
 * this machine, as one SHA-256: any entry added, removed or renamed in one
 * of them, excluded ones too, changes it.
 */
export function folderTimesDigest(root: string, entries: readonly string[]): string {
  const base = root.endsWith('/') ? root : `${root}/`;
  const lines: string[] = [];
  for (const entry of entries) {
    if (!entry.endsWith('/')) continue;
    let time: string;
    try {
      time = String(lstatSync(base + entry, { bigint: true, throwIfNoEntry: false })?.mtimeNs ?? '-');
    } catch {
      time = 'unreadable';
    }
    lines.push(`${entry}\0${time}`);
  }
  // A few kilobytes: core/digest's hash, so the syncs that only record never load node:crypto.
  return sha256Hex(lines.join('\n'));
}

/** A list of entries as bytes to send (NUL-separated: a name may hold a line break), and back. */
export function encodeEntries(entries: readonly string[]): string {
  return entries.join('\0');
}

export function decodeEntries(text: string): string[] {
  return text === '' ? [] : text.split('\0');
}

/** The name of a list of entries: both sides key it by this. */
export function entriesId(entries: readonly string[]): string {
  return sha256(encodeEntries(entries));
}

function sha256(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}
