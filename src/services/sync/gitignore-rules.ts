import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeRegexChar, globToRegexSource } from '../../core/glob.ts';
import type { FilterRule } from './filters.ts';
import { compileRsyncPattern, type PathTest } from './ignore-matcher.ts';

/**
 * Every .gitignore rsync would read through a `:- .gitignore` dir-merge
 * rule, turned into plain global exclude rules with the same meaning.
 *
 * Why: a dir-merge rule is also applied by the RECEIVER, which reads the
 * .gitignore files on ITS side. That forced --delete-after (so the host
 * already had this push's .gitignore files when deciding what to keep),
 * and --delete-after turns off rsync's incremental recursion: a no-op push
 * of a big project took twice as long. Global rules travel with the filter
 * list, so the receiver protects exactly what the CURRENT local files
 * ignore, and deletion can happen during the transfer.
 */

/** rsync's MAXPATHLEN: longer patterns are discarded by rsync. */
const MAX_PATTERN_LENGTH = 4096;

/**
 * The patterns of an exclude-only (`-` modifier) merge file, as rsync reads
 * them: lines end at \n or \r; empty lines and lines starting with '#' or
 * ';' are skipped; nothing is trimmed; '!' is an ordinary character.
 */
export function mergeFilePatterns(text: string): string[] {
  return text.split(/[\r\n]/).filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';') && line.length < MAX_PATTERN_LENGTH);
}

/**
 * One line of `folder`/.gitignore ('' = the project root) as global rules
 * matching exactly the paths rsync's per-directory rule matches. A
 * per-directory rule only applies to paths inside its folder; within that:
 *  - `/pat` is anchored at the folder;
 *  - a pattern without '/' (a trailing one aside) or `**` matches a name at
 *    any depth below the folder;
 *  - any other pattern is matched like a global one against the WHOLE path
 *    from the transfer root (rsync does not make it relative to the folder):
 *    at the start or after any '/', and a leading `**` against "/" + path.
 *    Such a match may begin above the folder ("src/x" in src/.gitignore
 *    matches src/x itself), so the starts inside the folder's own path are
 *    worked out here, against its actual name.
 */
export function translateGitignoreLine(folder: string, line: string): string[] {
  if (folder === '') return [line]; // the root's rules apply everywhere: a global rule already means that
  let pattern = line;
  const dirOnly = pattern.length > 1 && pattern.endsWith('/');
  if (dirOnly) pattern = pattern.slice(0, -1);
  const suffix = dirOnly ? '/' : '';
  const base = `/${escapeGlob(folder)}/`;
  let rules: string[];
  if (pattern.startsWith('/')) {
    const body = pattern.slice(1);
    rules = body === '' ? [] : [base + wildForm(body)];
  } else if (!pattern.includes('/') && !pattern.includes('**')) {
    rules = [base + wildForm(pattern), `${base}**/${wildForm(pattern)}`];
  } else {
    rules = pathPatternRules(folder, base, wildForm(pattern));
  }
  return [...new Set(rules.map((rule) => finish(base, rule) + suffix))];
}

function pathPatternRules(folder: string, base: string, pattern: string): string[] {
  const tokens = tokenize(pattern);
  const rules: string[] = [];
  // Where the match may start: for a leading "**", only at the start of "/" + path; otherwise at the start or after any '/'.
  const starts = isGlobstar(tokens[0]) ? [`/${folder}/`] : folder.split('/').map((_, i, parts) => `${parts.slice(i).join('/')}/`);
  if (!isGlobstar(tokens[0])) rules.push(base + pattern, `${base}**/${pattern}`); // starts inside the folder
  for (const consumed of starts) {
    // Split the pattern where the folder's path ends: the head must match it exactly, the rest is anchored below it.
    for (let cut = 0; cut <= tokens.length; cut++) {
      if (!matchesWhole(tokens.slice(0, cut), consumed)) continue;
      const rest = tokens.slice(cut).join('');
      // A "**" that ends the head may go on matching below the folder.
      if (cut > 0 && isGlobstar(tokens[cut - 1])) rules.push(`${base}**${rest}`);
      else if (rest !== '') rules.push(base + rest);
    }
  }
  return rules;
}

/**
 * rsync treats a pattern with any of `*?[` as a wildcard pattern (where '\'
 * escapes) and any other as a literal string. Parts are joined in wildcard
 * form; a result without wildcards goes back to literal form.
 */
function finish(base: string, rule: string): string {
  // Only stars after the folder: everything below it. ("/dir/***" would also match the folder itself.)
  if (/^\*+$/.test(rule.slice(base.length))) rule = `${base}**`;
  return /[*?[]/.test(rule) ? rule : rule.replace(/\\(.)/gs, '$1');
}

function escapeGlob(text: string): string {
  return text.replace(/[\\*?[]/g, '\\$&');
}

function wildForm(pattern: string): string {
  return /[*?[]/.test(pattern) ? pattern : escapeGlob(pattern);
}

function isGlobstar(token: string | undefined): boolean {
  return token !== undefined && token.startsWith('**');
}

/** A wildcard pattern's tokens: a literal or escaped character, `?`, a star run, a `[...]` class. */
function tokenize(pattern: string): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < pattern.length; ) {
    let end = i + 1;
    if (pattern[i] === '\\' && i + 1 < pattern.length) end = i + 2;
    else if (pattern[i] === '*') while (pattern[end] === '*') end++;
    else if (pattern[i] === '[') end = classEnd(pattern, i) ?? end;
    tokens.push(pattern.slice(i, end));
    i = end;
  }
  return tokens;
}

function classEnd(pattern: string, start: number): number | undefined {
  let i = start + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  for (let first = true; i < pattern.length; first = false) {
    if (pattern[i] === ']' && !first) return i + 1;
    if (pattern[i] === '\\') i += 2;
    else if (pattern[i] === '[' && pattern[i + 1] === ':' && pattern.indexOf(':]', i + 2) !== -1) i = pattern.indexOf(':]', i + 2) + 2;
    else i++;
  }
  return undefined;
}

function matchesWhole(tokens: readonly string[], text: string): boolean {
  const source = tokens
    .map((token) => {
      if (token.startsWith('**')) return '.*';
      if (token === '*') return '[^/]*';
      if (token === '?') return '[^/]';
      if (token.length > 1 && token.startsWith('[')) return globToRegexSource(token, { globstarMatchesNoFolder: false });
      return escapeRegexChar(token.length === 2 && token.startsWith('\\') ? token[1]! : token);
    })
    .join('');
  return new RegExp(`^${source}$`, 's').test(text);
}

/**
 * The filter list with its `:- FILE` dir-merge rule replaced by the global
 * rules of every FILE rsync would read: the one in each folder rsync walks
 * into, i.e. not inside a folder the rules before it (or the FILE rules of
 * the folders above) exclude. Deeper folders first, as rsync puts a
 * folder's own rules before the inherited ones.
 */
export function expandGitignores(root: string, filters: readonly FilterRule[]): FilterRule[] {
  const at = filters.findIndex((rule) => rule.kind === 'dir-merge-excludes');
  if (at === -1) return [...filters];
  const merge = filters[at] as { kind: 'dir-merge-excludes'; file: string };
  const staticTest = (list: readonly FilterRule[]) =>
    list.flatMap((rule) => (rule.kind === 'include' || rule.kind === 'exclude' ? [{ include: rule.kind === 'include', test: compileRsyncPattern(rule.pattern) }] : []));
  const before = staticTest(filters.slice(0, at));
  const after = staticTest(filters.slice(at + 1));
  const found: Array<{ depth: number; patterns: string[] }> = [];

  const excluded = (path: string, inherited: readonly PathTest[]): boolean => {
    for (const rule of before) if (rule.test(path, true)) return !rule.include;
    if (inherited.some((test) => test(path, true))) return true;
    for (const rule of after) if (rule.test(path, true)) return !rule.include;
    return false;
  };

  const visit = (folder: string, depth: number, inherited: readonly PathTest[]): void => {
    let entries;
    try {
      entries = readdirSync(join(root, folder), { withFileTypes: true });
    } catch {
      entries = undefined; // unreadable: rsync reports it (its rules file is still tried, as rsync would)
    }
    // Only a listed rules file is read: most folders have none, and a failed open per folder is what made the walk slow.
    const listed = entries === undefined || entries.some((entry) => entry.name === merge.file && !entry.isDirectory());
    const patterns = listed ? readPatterns(join(root, folder, merge.file)).flatMap((line) => translateGitignoreLine(folder, line)) : [];
    if (patterns.length > 0) found.push({ depth, patterns });
    if (entries === undefined) return;
    const tests = patterns.length > 0 ? [...patterns.map(compileRsyncPattern), ...inherited] : inherited;
    for (const entry of entries) {
      // Symlinks are copied as links (--links), never walked into.
      if (!entry.isDirectory()) continue;
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (!excluded(path, tests)) visit(path, depth + 1, tests);
    }
  };
  visit('', 0, []);

  found.sort((a, b) => b.depth - a.depth);
  const expanded: FilterRule[] = found.flatMap(({ patterns }) => patterns.map((pattern) => ({ kind: 'exclude' as const, pattern })));
  return [...filters.slice(0, at), ...expanded, ...filters.slice(at + 1)];
}

function readPatterns(file: string): string[] {
  try {
    return mergeFilePatterns(readFileSync(file, 'utf8'));
  } catch {
    return []; // none here (or not a file)
  }
}
