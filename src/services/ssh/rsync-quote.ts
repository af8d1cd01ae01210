import { isSafeBareWord } from '../../core/shell-quote.ts';
/**
 * rsync splits its `-e` string itself, not through a shell: whitespace
 * separates words, '…' and "…" group, and inside quotes a doubled quote
 * stands for itself. There is no backslash escape, so the shell's '\''
 * would break; this quotes for rsync's rules instead.
 */

export function quoteRsyncArg(value: string): string {
  if (isSafeBareWord(value)) return value;
  return `'${value.replaceAll("'", "''")}'`;
}
