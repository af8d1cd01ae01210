import { basename } from 'node:path';

/**
 * devcontainer.json's `${…}` variables. `localEnv` either becomes a mltoolbox
 * `${env:X:-default}` reference (the default: the loader expands it with the
 * rest, and a token is never baked into a file `init` writes) or resolves now.
 */
export interface VariableContext {
  /** Absolute local project folder: ${localWorkspaceFolder}. */
  localWorkspaceFolder: string;
  /** Folder inside the container: ${containerWorkspaceFolder}. */
  containerWorkspaceFolder: string;
  env: NodeJS.ProcessEnv;
  localEnv: 'resolve' | 'reference';
}

export interface Substitution {
  value: string;
  /** Variables we could not translate (left as written): ${containerEnv:X}, ${devcontainerId}, typos. */
  unresolved: string[];
}

const VARIABLE = /\$\{([^}]*)\}/g;

/**
 * The result feeds mltoolbox's own `${…}` interpolation, so `${scheme:…}`
 * text that is not a mltoolbox reference is escaped (`$${`) and reaches the
 * container as written. Shell forms (`${HOME}`, `${X:-y}`) need no escape.
 */
export function substituteVariables(input: string, context: VariableContext): Substitution {
  const unresolved: string[] = [];
  const value = input.replace(VARIABLE, (whole, body: string) => {
    const replacement = resolveVariable(body, context);
    if (replacement !== undefined) return replacement;
    if (SCHEME.test(body) || body === 'devcontainerId') unresolved.push(whole);
    return escape(whole);
  });
  return { value, unresolved };
}

/** What mltoolbox's interpolation would try to expand: `${word:` not followed by `-`. */
const SCHEME = /^[A-Za-z][A-Za-z0-9]*:(?!-)/;

const escape = (value: string) => value.replace(/\$\{(?=[A-Za-z][A-Za-z0-9]*:(?!-))/g, '$$$${');

function resolveVariable(body: string, context: VariableContext): string | undefined {
  switch (body) {
    case 'localWorkspaceFolder':
      return escape(context.localWorkspaceFolder);
    case 'localWorkspaceFolderBasename':
      return escape(basename(context.localWorkspaceFolder));
    case 'containerWorkspaceFolder':
      return escape(context.containerWorkspaceFolder);
    case 'containerWorkspaceFolderBasename':
      return escape(basename(context.containerWorkspaceFolder));
  }
  const match = /^(?:localEnv|env):([A-Za-z_][A-Za-z0-9_]*)(?::(.*))?$/s.exec(body);
  if (!match) return undefined;
  const [, name, fallback] = match as unknown as [string, string, string | undefined];
  // devcontainer semantics: an unset variable is the default, or empty; `:-` keeps that in mltoolbox.
  if (context.localEnv === 'reference') return `\${env:${name}:-${fallback ?? ''}}`;
  return escape(context.env[name] ?? fallback ?? '');
}

/** Whether a string uses a variable that only exists inside the container (`${containerEnv:PATH}`). */
export function usesContainerEnv(input: string): boolean {
  return /\$\{containerEnv:[^}]*\}/.test(input);
}
