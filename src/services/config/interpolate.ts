import { keyPathToString, type KeyPath, type Origin } from './layer.ts';
import { isPlainObject, setOwn } from './merge.ts';
import type { ConfigProblem } from './problems.ts';
import { originAt } from './layer.ts';

/** What `${secret:name}` needs: lookup only (the secrets service implements it). */
export interface SecretResolver {
  get(name: string): Promise<string | undefined>;
}

export interface InterpolationOptions {
  env: NodeJS.ProcessEnv;
  secrets?: SecretResolver;
  /**
   * resolve: real values (for commands that start containers).
   * redact: `${secret:x}` becomes `<secret:x>` and the store is never opened
   * (for config show / validate, so a secret cannot end up on a terminal).
   */
  mode: 'resolve' | 'redact';
}

export interface SecretReference {
  key: string;
  name: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

class InterpolationProblem extends Error {}

/** Expands one string; throws InterpolationProblem with a user-facing message. */
async function expand(text: string, options: InterpolationOptions, found: string[], secretCache: Map<string, Promise<string | undefined>>): Promise<string> {
  if (!text.includes('${')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) throw new InterpolationProblem(`unclosed '\${' in ${JSON.stringify(text)}; write $\${ for a literal \${`);
    const expression = text.slice(i + 2, end);
    out += await evaluate(expression, options, found, secretCache);
    i = end + 1;
  }
  return out;
}

async function evaluate(expression: string, options: InterpolationOptions, found: string[], secretCache: Map<string, Promise<string | undefined>>): Promise<string> {
  // `${HOME}` and `${NAME:-x}` are shell syntax in commands: left for the shell.
  if (!/^[A-Za-z][A-Za-z0-9]*:(?!-)/.test(expression)) return `\${${expression}}`;
  const colon = expression.indexOf(':');
  const kind = colon < 0 ? expression : expression.slice(0, colon);
  const argument = colon < 0 ? '' : expression.slice(colon + 1);
  if (kind === 'env') {
    const sep = argument.indexOf(':-');
    const name = sep < 0 ? argument : argument.slice(0, sep);
    if (!ENV_NAME.test(name)) throw new InterpolationProblem(`'\${env:${name}}': '${name}' is not a variable name`);
    const value = options.env[name];
    if (value !== undefined && value !== '') return value;
    if (sep >= 0) return argument.slice(sep + 2);
    throw new InterpolationProblem(`environment variable ${name} is not set (used as \${env:${name}}); set it, or write \${env:${name}:-default}`);
  }
  if (kind === 'secret') {
    if (!SECRET_NAME.test(argument)) throw new InterpolationProblem(`'\${secret:${argument}}': '${argument}' is not a valid secret name`);
    found.push(argument);
    if (options.mode === 'redact') return `<secret:${argument}>`;
    if (!options.secrets) throw new InterpolationProblem(`secret '${argument}' cannot be read here (no secret store)`);
    let pending = secretCache.get(argument);
    if (!pending) secretCache.set(argument, (pending = options.secrets.get(argument)));
    const value = await pending;
    if (value === undefined) throw new InterpolationProblem(`secret '${argument}' is not set; run: mltoolbox secret set ${argument}`);
    return value;
  }
  throw new InterpolationProblem(`unknown interpolation '\${${expression}}'; use \${env:NAME}, \${env:NAME:-default} or \${secret:NAME} (write $\${ for a literal \${)`);
}

/** Expands one string outside a config tree (e.g. profile values); throws with the message on failure. */
export async function interpolateString(text: string, options: InterpolationOptions): Promise<string> {
  return expand(text, options, [], new Map());
}

export interface InterpolationResult {
  value: Record<string, unknown>;
  problems: ConfigProblem[];
  secretRefs: SecretReference[];
}

/** Expands every string value of a merged config; every failure is collected with its origin. */
export async function interpolateTree(root: Record<string, unknown>, origins: ReadonlyMap<string, Origin>, options: InterpolationOptions): Promise<InterpolationResult> {
  const problems: ConfigProblem[] = [];
  const secretRefs: SecretReference[] = [];
  const secretCache = new Map<string, Promise<string | undefined>>();
  const walk = async (node: unknown, path: KeyPath): Promise<unknown> => {
    if (typeof node === 'string') {
      const found: string[] = [];
      try {
        const expanded = await expand(node, options, found, secretCache);
        for (const name of found) secretRefs.push({ key: keyPathToString(path), name });
        return expanded;
      } catch (error) {
        if (!(error instanceof InterpolationProblem)) throw error;
        const origin = originAt(origins, path);
        problems.push({ message: `${keyPathToString(path)}: ${error.message}`, key: keyPathToString(path), ...(origin ? { origin } : {}) });
        return node;
      }
    }
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      for (const [index, item] of node.entries()) out.push(await walk(item, [...path, index]));
      return out;
    }
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) setOwn(out, key, await walk(child, [...path, key]));
      return out;
    }
    return node;
  };
  const value = (await walk(root, [])) as Record<string, unknown>;
  return { value, problems, secretRefs };
}
