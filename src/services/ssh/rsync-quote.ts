/**
 * rsync splits its `-e` string itself, not through a shell: whitespace
 * separates words, '…' and "…" group, and inside quotes a doubled quote
 * stands for itself. There is no backslash escape, so the shell's '\''
 * would break; this quotes for rsync's rules instead.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quoteRsyncArg(value: string): string {
  if (value !== '' && SAFE.test(value)) return value;
  return `'${value.replaceAll("'", "''")}'`;
}
