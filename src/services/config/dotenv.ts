/**
 * dotenv parsing with the usual semantics and nothing more: `KEY=value`,
 * optional `export `, `#` comments, single quotes (literal), double quotes
 * (\n \t \" \\ escapes, may span lines), unquoted values trimmed with a
 * trailing ` # comment` removed. No variable expansion, no command
 * substitution: nothing in the file is ever executed.
 */
import { envNameProblem } from '../../core/env-name.ts';

export interface DotenvEntry {
  name: string;
  value: string;
  line: number;
  column: number;
}

export interface DotenvError {
  message: string;
  line: number;
  column: number;
}


export function parseDotenv(text: string): { entries: DotenvEntry[]; errors: DotenvError[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: DotenvEntry[] = [];
  const errors: DotenvError[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const indent = raw.length - raw.trimStart().length;
    let rest = raw.trimStart();
    if (rest === '' || rest.startsWith('#')) continue;
    let column = indent + 1;
    const exported = /^export\s+/.exec(rest);
    if (exported) {
      rest = rest.slice(exported[0].length);
      column += exported[0].length;
    }
    const eq = rest.indexOf('=');
    if (eq < 0) {
      errors.push({ message: 'expected NAME=value', line: lineNo, column });
      continue;
    }
    const name = rest.slice(0, eq).trim();
    const nameProblem = envNameProblem(name);
    if (nameProblem) {
      errors.push({ message: nameProblem, line: lineNo, column });
      continue;
    }
    let value = rest.slice(eq + 1).trimStart();
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      let body = value.slice(1);
      let end = findClosingQuote(body, quote);
      // Quoted values may span lines until the closing quote.
      while (end < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        end = findClosingQuote(body, quote);
      }
      if (end < 0) {
        errors.push({ message: `unterminated ${quote === '"' ? 'double' : 'single'}-quoted value`, line: lineNo, column });
        continue;
      }
      const inner = body.slice(0, end);
      const after = body.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) {
        errors.push({ message: 'unexpected text after the closing quote', line: lineNo, column });
        continue;
      }
      value = quote === '"' ? unescapeDouble(inner) : inner;
    } else {
      const comment = value.search(/\s#/);
      if (comment >= 0) value = value.slice(0, comment);
      value = value.trim();
    }
    entries.push({ name, value, line: lineNo, column });
  }
  return { entries, errors };
}

function findClosingQuote(text: string, quote: string): number {
  for (let i = 0; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) return i;
  }
  return -1;
}

function unescapeDouble(text: string): string {
  return text.replace(/\\(.)/gs, (_, ch: string) => ({ n: '\n', r: '\r', t: '\t' })[ch as 'n'] ?? ch);
}
