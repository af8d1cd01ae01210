import { suggest } from '../../core/suggest.ts';
import type { FeatureMetadata } from './metadata.ts';

/**
 * The spec's option-name → variable-name rule: anything but word characters
 * becomes `_`, a leading run of digits/underscores becomes one `_`, upper case.
 */
export function optionEnvName(option: string): string {
  return option.replace(/[^\w_]/g, '_').replace(/^[\d_]+/g, '_').toUpperCase();
}

export interface OptionProblem {
  /** The option's name as the user wrote it. */
  option: string;
  message: string;
}

export interface ResolvedOptions {
  /** Every option with its value: the user's, else the feature's default (what install.sh sees). */
  values: Record<string, string | boolean>;
  /** Variable name → value text, in the order the feature declares its options. */
  env: Record<string, string>;
  problems: OptionProblem[];
  /** Options the feature does not declare (still passed through, as the spec's reference implementation does). */
  unknown: string[];
}

/**
 * Applies a feature's declared options to what the user gave: defaults for
 * the omitted ones, a type check for each given one (boolean vs string, enum
 * membership), and the variables install.sh receives.
 */
export function resolveOptions(metadata: Pick<FeatureMetadata, 'id' | 'options'>, given: Readonly<Record<string, unknown>>): ResolvedOptions {
  const values: Record<string, string | boolean> = {};
  const problems: OptionProblem[] = [];
  const unknown: string[] = [];
  for (const [name, spec] of Object.entries(metadata.options)) {
    if (!(name in given) && spec.default !== undefined) values[name] = spec.default;
  }
  for (const [name, value] of Object.entries(given)) {
    const spec = metadata.options[name];
    if (!spec) {
      const near = suggest(name, Object.keys(metadata.options));
      unknown.push(name);
      if (typeof value === 'string' || typeof value === 'boolean') values[name] = value;
      else problems.push({ option: name, message: `option '${name}' must be a string or a boolean` });
      if (near) problems.push({ option: name, message: `feature '${metadata.id}' has no option '${name}'; did you mean '${near}'?` });
      continue;
    }
    if (spec.type === 'boolean') {
      if (typeof value === 'boolean') values[name] = value;
      else problems.push({ option: name, message: `option '${name}' of feature '${metadata.id}' is a boolean: write true or false, not ${JSON.stringify(value)}` });
      continue;
    }
    if (typeof value !== 'string') {
      const hint = typeof value === 'number' ? ` (quote it: "${String(value)}" — YAML reads 3.10 as the number 3.1)` : '';
      problems.push({ option: name, message: `option '${name}' of feature '${metadata.id}' is a string, not ${typeof value === 'boolean' ? 'a boolean' : JSON.stringify(value)}${hint}` });
      continue;
    }
    if (spec.enum && !spec.enum.includes(value)) {
      const near = suggest(value, spec.enum);
      problems.push({ option: name, message: `option '${name}' of feature '${metadata.id}' must be one of ${spec.enum.map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}${near ? `; did you mean ${JSON.stringify(near)}?` : ''}` });
      continue;
    }
    values[name] = value;
  }
  // In the order the feature declares its options, then the undeclared ones.
  const ordered = [...Object.keys(metadata.options).filter((k) => k in values), ...Object.keys(values).filter((k) => !(k in metadata.options))];
  const env: Record<string, string> = {};
  for (const name of ordered) env[optionEnvName(name)] = String(values[name]);
  return { values: Object.fromEntries(ordered.map((k) => [k, values[k]!])), env, problems, unknown };
}

/** `KEY="value"` lines for devcontainer-features.env, safe to source in sh (no expansion of the value). */
export function envFileText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([key, value]) => `${key}=${shellLiteral(value)}\n`).join('');
}

/** A value as one single-quoted sh word: nothing inside is expanded, newlines stay data. */
export function shellLiteral(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
