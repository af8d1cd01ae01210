import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
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
export function treeDigest(root: string, entries: readonly string[]): string {
  const lines: string[] = [];
  for (const entry of entries) {
    const path = join(root, entry);
    let stat;
    try {
      stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      stat = undefined; // unreadable: differs from the other side, which is what a sync should then do
    }
    if (!stat) {
      lines.push(`${entry}\0-`);
      continue;
    }
    const mode = (stat.mode & 0o7777n).toString(8);
    if (stat.isFile()) lines.push(`${entry}\0f\0${mode}\0${stat.mtimeNs}\0${stat.size}`);
    else if (stat.isDirectory()) lines.push(`${entry}\0d\0${mode}\0${stat.mtimeNs}`);
    else if (stat.isSymbolicLink()) lines.push(`${entry}\0l\0${stat.mtimeNs}\0${readLink(path)}`);
    else lines.push(`${entry}\0o\0${mode}\0${stat.mtimeNs}\0${stat.rdev}`);
  }
  return sha256Hex(lines.join('\n'));
}

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '\0unreadable';
  }
}

/** The names in each listed folder (entries ending in '/'), excluded ones too, as one SHA-256. */
export function folderNamesDigest(root: string, entries: readonly string[]): string {
  const lines: string[] = [];
  for (const entry of entries) {
    if (!entry.endsWith('/')) continue;
    let names: string[];
    try {
      names = readdirSync(join(root, entry)).sort();
    } catch {
      names = ['\0unreadable'];
    }
    lines.push(`${entry}\0${names.join('\0')}`);
  }
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
  return sha256Hex(encodeEntries(entries));
}
