import { globToRegexSource } from '../../core/glob.ts';

/**
 * .dockerignore, with Docker's rules (moby/patternmatcher):
 * - one pattern a line; `#` starts a comment line; paths are relative to the
 *   context root (a leading `/` is dropped) and cleaned (`./a/../b` -> `b`);
 * - `*` and `?` stay within one path segment, `**` spans any number of them,
 *   `[a-z]` classes and `\` escapes work as in Go's filepath.Match;
 * - a pattern matching a folder excludes everything beneath it;
 * - `!pattern` re-includes; the last matching line wins.
 */
export interface IgnoreMatcher {
  /** Whether a context-relative path (forward slashes) is excluded. */
  ignores(path: string): boolean;
  /** Whether some `!` line exists, so an excluded folder must still be walked. */
  readonly hasExceptions: boolean;
}

interface Rule {
  regex: RegExp;
  exception: boolean;
}

export function parseDockerignore(text: string): IgnoreMatcher {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    const cleaned = cleanPath(line);
    if (cleaned === '' || cleaned === '.') continue;
    rules.push({ regex: patternToRegex(cleaned), exception });
  }
  return {
    hasExceptions: rules.some((r) => r.exception),
    ignores(path) {
      const candidates = parentsAndSelf(path);
      let excluded = false;
      for (const rule of rules) {
        if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.exception;
      }
      return excluded;
    },
  };
}

/** 'a/b/c' -> ['a', 'a/b', 'a/b/c']: a pattern matching a parent folder matches its content. */
function parentsAndSelf(path: string): string[] {
  const parts = path.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Go's filepath.Clean for relative slash paths, plus dropping a leading '/'. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const part of path.replace(/^\/+/, '').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out.at(-1) !== '..') out.pop();
      continue; // above the root is the root
    }
    out.push(part);
  }
  return out.join('/');
}

function patternToRegex(pattern: string): RegExp {
  return new RegExp(`^${globToRegexSource(pattern, { globstarMatchesNoFolder: true })}$`);
}
