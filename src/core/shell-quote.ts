/**
 * POSIX shell quoting for commands we send to a remote shell over ssh.
 * ssh joins its arguments into one string that the remote login shell
 * parses again, so every argument must be quoted exactly once, here.
 * Single quotes make everything literal ($(), `, ", spaces, newlines);
 * a single quote itself is written as '\'' (close, escaped quote, reopen).
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A word no shell (nor rsync's -e splitter) would change: it may stay unquoted. */
export function isSafeBareWord(value: string): boolean {
  return value !== '' && SAFE.test(value);
}

export function quoteShellArg(value: string): string {
  if (isSafeBareWord(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Joins argv into one shell command line, each word quoted. */
export function joinShellCommand(argv: readonly string[]): string {
  return argv.map(quoteShellArg).join(' ');
}
