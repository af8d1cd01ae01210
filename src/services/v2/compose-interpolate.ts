/**
 * Docker Compose variable substitution, as the compose spec defines it:
 * `$$` is a literal `$`; `$VAR` and `${VAR}`; `${VAR:-default}` (unset or
 * empty), `${VAR-default}` (unset); `${VAR:+alt}` / `${VAR+alt}`;
 * `${VAR:?message}` / `${VAR?message}` (an error in compose). Defaults may
 * themselves contain substitutions. A variable compose would have taken
 * from the shell (not set in the .env) is reported in `missing`: compose
 * would print a warning and use an empty string, and so does this.
 */
export interface Substitution {
  value: string;
  /** Variables used without a value and without a default. */
  missing: string[];
  /** `${VAR:?message}` that would have stopped compose. */
  errors: string[];
  /** Variables whose value was used (for "this value came from WANDB_API_KEY"). */
  used: string[];
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function substituteCompose(text: string, vars: ReadonlyMap<string, string>): Substitution {
  const result: Substitution = { value: '', missing: [], errors: [], used: [] };
  result.value = expand(text, vars, result);
  result.missing = [...new Set(result.missing)];
  result.used = [...new Set(result.used)];
  return result;
}

function expand(text: string, vars: ReadonlyMap<string, string>, out: Substitution): string {
  let value = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '$') {
      value += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      value += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = matchingBrace(text, i + 1);
      if (end < 0) {
        // Compose rejects this; keep the text so the caller sees what was written.
        out.errors.push(`unclosed '\${' in ${JSON.stringify(text)}`);
        value += text.slice(i);
        break;
      }
      value += evaluate(text.slice(i + 2, end), vars, out);
      i = end + 1;
      continue;
    }
    if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
      value += lookup(text.slice(i + 1, j), vars, out) ?? '';
      i = j;
      continue;
    }
    value += '$';
    i++;
  }
  return value;
}

/** Index of the `}` closing the `{` at `open`, counting nested `${…}`. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function lookup(name: string, vars: ReadonlyMap<string, string>, out: Substitution, quiet = false): string | undefined {
  const value = vars.get(name);
  if (value === undefined) {
    if (!quiet) out.missing.push(name);
    return undefined;
  }
  out.used.push(name);
  return value;
}

function evaluate(expression: string, vars: ReadonlyMap<string, string>, out: Substitution): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([\s\S]*))?$/.exec(expression);
  if (!match) {
    out.errors.push(`'\${${expression}}' is not a variable reference`);
    return '';
  }
  const [, name, operator, argument = ''] = match;
  if (operator === undefined) return lookup(name!, vars, out) ?? '';
  const raw = vars.get(name!);
  const unsetOrEmpty = raw === undefined || raw === '';
  const absent = operator.startsWith(':') ? unsetOrEmpty : raw === undefined;
  switch (operator) {
    case ':-':
    case '-':
      if (absent) return expand(argument, vars, out);
      return lookup(name!, vars, out, true) ?? '';
    case ':+':
    case '+':
      return absent ? '' : expand(argument, vars, out);
    default:
      if (absent) {
        out.errors.push(`${name} is required${argument ? `: ${argument}` : ''}`);
        return '';
      }
      return lookup(name!, vars, out, true) ?? '';
  }
}
