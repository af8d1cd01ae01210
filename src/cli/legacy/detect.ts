/**
 * Cheap check run on every start: could this command line be a v2 one?
 * Only then is the rewriter loaded (and, for host lookups, the state database).
 */
const V2_REMOTE_WORDS = new Set(['connect', 'list-remotes', 'remove', 'sync', 'fetch', 'attach', 'datasync']);
const V2_INIT_FLAGS = /^--(?:ray|no-ray|python-version|variant)(?:=|$)/;

export function mightBeLegacy(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const tokens = end === -1 ? argv : argv.slice(0, end);
  if (tokens.includes('--debug') || tokens.includes('--dryrun')) return true;
  const words = commandWords(tokens);
  if (words[0] === 'remote' && words[1] !== undefined && V2_REMOTE_WORDS.has(words[1])) return true;
  return words[0] === 'init' && tokens.some((t) => V2_INIT_FLAGS.test(t));
}

/**
 * The first one or two words (a command name has at most two), skipping
 * leading options and -C's value; `index` is where each word is in argv.
 */
export function commandWords(argv: readonly string[]): string[] {
  return locateCommandWords(argv).map((w) => w.word);
}

export function locateCommandWords(argv: readonly string[]): { word: string; index: number }[] {
  const words: { word: string; index: number }[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const token = argv[i]!;
    if (token === '--') break;
    if (token.startsWith('-') && token !== '-') {
      if (words.length > 0) break;
      if (token === '-C' || token === '--project-dir') i++;
      continue;
    }
    words.push({ word: token, index: i });
  }
  return words;
}
