import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FilterRule } from './filters.ts';
import { IgnoreMatcher } from './ignore-matcher.ts';

/**
 * The decisions of an rclone push, made here with the same rules (and the
 * same matcher) rsync's filters express, so `sync.strategy: rclone` copies
 * and deletes exactly what rsync would: rclone only moves the files it is
 * told to and deletes the files it is told to.
 */

/** One entry of `rclone lsjson -R`. */
export interface RemoteEntry {
  Path: string;
  IsDir: boolean;
  Size: number;
}

export interface LocalTree {
  /** Regular files to copy. */
  files: Set<string>;
  /** Folders that are synced (not ignored). */
  folders: Set<string>;
  /** Entries that are synced but rclone cannot copy (symlinks, devices, names with a line break): never deleted on the host either. */
  skipped: string[];
}

/** A name rclone's file lists cannot carry (one path per line). */
export function unlistable(path: string): boolean {
  return /[\n\r]/.test(path);
}

/** Walks the project, leaving out what the filters exclude (as rsync would). */
export function walkProject(root: string, filters: readonly FilterRule[]): LocalTree {
  const matcher = new IgnoreMatcher(root, filters);
  const tree: LocalTree = { files: new Set(), folders: new Set(), skipped: [] };
  const visit = (folder: string): void => {
    let entries;
    try {
      entries = readdirSync(join(root, folder), { withFileTypes: true });
    } catch {
      return; // unreadable: nothing of it is copied, or deleted
    }
    for (const entry of entries) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (matcher.ignores(path, entry.isDirectory())) continue;
      if (entry.isDirectory()) {
        tree.folders.add(path);
        visit(path);
      } else if (entry.isFile() && !unlistable(path)) {
        tree.files.add(path);
      } else {
        tree.skipped.push(path);
      }
    }
  };
  visit('');
  return tree;
}

/**
 * What a push deletes on the host: files and folders that are gone locally,
 * except what the rules keep there — an excluded or ignored path (rsync
 * without --delete-excluded) and a protected one (`P`). The same matcher as
 * the copy, with protect rules read as "leave alone".
 */
export function plannedDeletions(root: string, filters: readonly FilterRule[], local: LocalTree, remote: readonly RemoteEntry[]): { files: string[]; folders: string[]; unlisted: string[] } {
  const keep = new IgnoreMatcher(root, filters.map((rule): FilterRule => (rule.kind === 'protect' ? { kind: 'exclude', pattern: rule.pattern } : rule)));
  const localPaths = new Set([...local.files.keys(), ...local.folders, ...local.skipped]);
  const kept = new Set<string>();
  const markKept = (path: string) => {
    for (let at = path.length; at > 0; at = path.lastIndexOf('/', at - 1)) kept.add(path.slice(0, at));
  };
  const files: string[] = [];
  const unlisted: string[] = [];
  const folders: string[] = [];
  for (const entry of remote) {
    const gone = !localPaths.has(entry.Path) && !keep.ignores(entry.Path, entry.IsDir);
    if (!gone) markKept(entry.Path);
    else if (entry.IsDir) folders.push(entry.Path);
    else if (unlistable(entry.Path)) {
      unlisted.push(entry.Path);
      markKept(entry.Path);
    } else files.push(entry.Path);
  }
  // A folder goes only when nothing in it stays; then only its topmost such folder is named.
  const removable = folders.filter((folder) => !kept.has(folder)).sort();
  const topmost = removable.filter((folder) => !removable.some((other) => folder.startsWith(`${other}/`)));
  return { files: files.sort(), folders: topmost, unlisted };
}

/**
 * Where the host may hold a symlink (or a special file) that a copy would
 * write through: the topmost path on the way to each file to copy that the
 * host listing — which leaves links out — does not have. Grouped by the
 * folder that holds it ('' = the project folder), the folders to look in.
 */
export function unlistedOnTheWay(files: Iterable<string>, remote: readonly RemoteEntry[]): Map<string, Set<string>> {
  const listed = new Set(remote.map((entry) => entry.Path));
  const byParent = new Map<string, Set<string>>();
  for (const file of files) {
    const parts = file.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      if (listed.has(path)) continue;
      const parent = parts.slice(0, i - 1).join('/');
      byParent.set(parent, (byParent.get(parent) ?? new Set()).add(path));
      break;
    }
  }
  return byParent;
}

/** The files that are not `blocked` paths nor below one. */
export function outside(files: Iterable<string>, blocked: ReadonlySet<string>): string[] {
  if (blocked.size === 0) return [...files];
  return [...files].filter((file) => {
    for (let at = file.length; at > 0; at = file.lastIndexOf('/', at - 1)) if (blocked.has(file.slice(0, at))) return false;
    return true;
  });
}
