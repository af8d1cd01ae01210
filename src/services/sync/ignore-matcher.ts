import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FilterRule } from './filters.ts';
import { globToRegexSource } from '../../core/glob.ts';

/**
 * Decides, like rsync will, whether a changed local path is left out of a
 * push, so `watch` does not start an rsync for a log line written into an
 * ignored folder. It mirrors rsync's rules for the filters we generate:
 * first match wins; a pattern with a '/' (or '**') is matched against the
 * path, otherwise against the name; a leading '/' anchors it to the
 * folder of its rule file; a trailing '/' only matches folders; an
 * excluded folder hides everything beneath it.
 */
export type PathTest = (path: string, isDir: boolean) => boolean;

export function compileRsyncPattern(pattern: string): PathTest {
  let body = pattern;
  const dirOnly = body.endsWith('/') && body.length > 1;
  if (dirOnly) body = body.slice(0, -1);
  const anchored = body.startsWith('/');
  if (anchored) body = body.slice(1);
  // "dir/***" matches the folder itself and everything inside it.
  const withContents = body.endsWith('/***');
  if (withContents) body = body.slice(0, -4);
  const wholePath = body.includes('/') || body.includes('**');
  // rsync matches a pattern that starts with "**" against "/" + path, so "**/x" also matches a top-level x.
  const leadingGlobstar = !anchored && body.startsWith('**');
  let source = globToRegex(body);
  if (withContents) source += '(?:/.*)?';
  const regex = new RegExp(wholePath && !anchored && !leadingGlobstar ? `(?:^|/)${source}$` : `^${source}$`);
  return (path, isDir) => {
    if (dirOnly && !isDir) return false;
    if (leadingGlobstar) return regex.test(`/${path}`);
    if (wholePath || anchored) return regex.test(path);
    return regex.test(path.slice(path.lastIndexOf('/') + 1));
  };
}

function globToRegex(glob: string): string {
  return globToRegexSource(glob, { globstarMatchesNoFolder: false });
}

interface StaticRule {
  include: boolean;
  test: PathTest;
}

export class IgnoreMatcher {
  private readonly root: string;
  private rules: StaticRule[] = [];
  private mergeFile: string | undefined;
  private readonly mergeCache = new Map<string, PathTest[]>();

  constructor(root: string, filters: readonly FilterRule[]) {
    this.root = root;
    this.setFilters(filters);
  }

  /** New filters (e.g. after .dockerignore changed); rule files are read again. */
  setFilters(filters: readonly FilterRule[]): void {
    this.rules = [];
    this.mergeFile = undefined;
    for (const filter of filters) {
      if (filter.kind === 'include' || filter.kind === 'exclude') this.rules.push({ include: filter.kind === 'include', test: compileRsyncPattern(filter.pattern) });
      else if (filter.kind === 'dir-merge-excludes') this.mergeFile = filter.file;
    }
    this.mergeCache.clear();
  }

  /** A per-folder rule file changed: read it again next time. */
  forgetRuleFile(folder: string): void {
    this.mergeCache.delete(folder);
  }

  /**
   * Whether rsync leaves this root-relative path (forward slashes) out.
   * Whether the path is a folder is looked up here, unless the caller knows
   * (a path on the host).
   */
  ignores(path: string, isFolder?: boolean): boolean {
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    for (let i = 1; i <= parts.length; i++) {
      const isDir = i < parts.length || (isFolder ?? this.isDirectory(parts.join('/')));
      if (this.excludes(parts.slice(0, i), isDir)) return true;
    }
    return false;
  }

  private excludes(parts: readonly string[], isDir: boolean): boolean {
    const path = parts.join('/');
    for (const rule of this.rules) {
      if (rule.test(path, isDir)) return !rule.include;
    }
    if (this.mergeFile === undefined) return false;
    // The rule files of every folder above the path apply, each relative to its own folder.
    for (let depth = 0; depth < parts.length; depth++) {
      const folder = parts.slice(0, depth).join('/');
      const relative = parts.slice(depth).join('/');
      if (this.mergeRules(folder).some((test) => test(relative, isDir))) return true;
    }
    return false;
  }

  private mergeRules(folder: string): PathTest[] {
    let tests = this.mergeCache.get(folder);
    if (!tests) {
      tests = [];
      let text = '';
      try {
        text = readFileSync(join(this.root, folder, this.mergeFile!), 'utf8');
      } catch {
        // no rule file in this folder
      }
      for (const raw of text.split(/\r?\n/)) {
        const line = raw.trimEnd();
        // Comments; and rsync reads "!x" in an exclude-only file as a name that never occurs.
        if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('!')) continue;
        tests.push(compileRsyncPattern(line));
      }
      this.mergeCache.set(folder, tests);
    }
    return tests;
  }

  private isDirectory(path: string): boolean {
    try {
      return lstatSync(join(this.root, path)).isDirectory();
    } catch {
      return false; // deleted: rsync will delete it whatever it was
    }
  }
}
