/** The last non-empty lines of a program's stderr: what an error message quotes. */
export function stderrTail(stderr: string, lines = 10): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-lines);
}
