/**
 * Shell-style globs as regular expression source, for the two ignore
 * dialects we match ourselves (.dockerignore for build contexts, rsync
 * filters for the watcher). `*` and `?` stay inside one path segment,
 * `[…]` is a class (`!` or `^` negates), `\x` is a literal x.
 * The dialects differ only in `**`: Docker lets `**\/` match no folder at
 * all (`**\/a` matches `a`); rsync's `**` is plain "anything, / included".
 */
export interface GlobDialect {
  /** `**\/` may match zero folders (Docker); otherwise `**` is just `.*` (rsync). */
  globstarMatchesNoFolder: boolean;
}

export function globToRegexSource(glob: string, dialect: GlobDialect): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] !== '*') {
        re += '[^/]*';
        continue;
      }
      while (glob[i + 1] === '*') i++;
      if (dialect.globstarMatchesNoFolder && glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += escapeRegexChar(glob[++i]!);
    } else {
      re += escapeRegexChar(c);
    }
  }
  return re;
}

export function escapeRegexChar(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
