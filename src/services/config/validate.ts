import type * as z from 'zod';
import { suggest } from '../../core/suggest.ts';
import { keyPathToString, originAt, type KeyPath, type Origin } from './layer.ts';
import { isPlainObject, valueAt, type MergedConfig } from './merge.ts';
import type { ConfigProblem } from './problems.ts';

interface ZodDefLike {
  type: string;
  shape?: Record<string, { _zod: { def: ZodDefLike } }>;
  innerType?: { _zod: { def: ZodDefLike } };
  in?: { _zod: { def: ZodDefLike } };
  options?: { _zod: { def: ZodDefLike } }[];
  valueType?: { _zod: { def: ZodDefLike } };
  element?: { _zod: { def: ZodDefLike } };
}

const defOf = (schema: unknown): ZodDefLike => (schema as { _zod: { def: ZodDefLike } })._zod.def;

/** The keys an object in the schema allows at `path` (for "did you mean"). */
export function allowedKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  let defs: ZodDefLike[] = [defOf(schema)];
  const unwrap = (def: ZodDefLike): ZodDefLike[] => {
    if (def.innerType) return unwrap(def.innerType._zod.def);
    if (def.type === 'pipe' && def.in) return unwrap(def.in._zod.def);
    if (def.type === 'union' && def.options) return def.options.flatMap((o) => unwrap(o._zod.def));
    return [def];
  };
  for (const part of path) {
    defs = defs.flatMap(unwrap).flatMap((def): ZodDefLike[] => {
      if (def.type === 'object' && def.shape && typeof part === 'string') {
        const child = Object.hasOwn(def.shape, part) ? def.shape[part] : undefined;
        return child ? [child._zod.def] : [];
      }
      if (def.type === 'record' && def.valueType) return [def.valueType._zod.def];
      if (def.type === 'array' && def.element) return [def.element._zod.def];
      return [];
    });
  }
  return [...new Set(defs.flatMap(unwrap).flatMap((def) => (def.type === 'object' && def.shape ? Object.keys(def.shape) : [])))];
}

/** suggest(), plus swapped letters (`hots` -> `host`), which plain edit distance counts as two edits. */
export function suggestKey(word: string, candidates: readonly string[]): string | undefined {
  const sorted = (s: string) => [...s.toLowerCase()].sort().join('');
  return suggest(word, candidates) ?? candidates.find((c) => c.length > 2 && sorted(c) === sorted(word));
}


function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${typeof value} ${text.slice(0, 37)}...` : text;
}

const EXPECTED: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'a mapping of keys',
  array: 'a list', record: 'a mapping of keys',
};

/** A schema's own explanation (its `error` option), after the generic part; zod's default wording is left out. */
const customMessage = (issue: z.core.$ZodIssue) => (issue.message && !/^Invalid /.test(issue.message) ? `: ${issue.message}` : '');

function messageFor(issue: z.core.$ZodIssue, root: unknown): string {
  const value = valueAt(root, issue.path as KeyPath);
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(value)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(value)}${customMessage(issue)}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${describeValue(value)}${didYouMean(value, issue.values)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}, got ${describeValue(value)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}, got ${describeValue(value)}`;
    case 'invalid_format':
      return issue.message.startsWith('Invalid') ? `has the wrong format: ${describeValue(value)}` : `${issue.message}; got ${describeValue(value)}`;
    case 'invalid_union':
      if (!issue.message.startsWith('Invalid input')) return `${issue.message}; got ${describeValue(value)}`;
      return `unexpected value ${describeValue(value)}`;
    default:
      return issue.message;
  }
}

/** Turns zod issues into problems that point at the file:line:column that set each value. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], merged: MergedConfig, schema: z.ZodType): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path as KeyPath;
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(schema, path);
      const where = path.length ? ` in ${keyPathToString(path)}` : ' at the top level';
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const guess = suggestKey(key, allowed);
        const hint = guess ? ` (did you mean '${guess}'?)` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : '';
        const origin = merged.keyOrigins.get(keyPathToString(keyPath)) ?? originAt(merged.origins, keyPath);
        problems.push({ message: `unknown key '${key}'${where}${hint}`, key: keyPathToString(keyPath), ...(origin ? { origin } : {}) });
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      // A bad key of a map (an env name): point at the key itself, with the key rule's own words.
      const parent = keyPathToString(path.slice(0, -1));
      const origin = merged.keyOrigins.get(keyPathToString(path)) ?? originAt(merged.origins, path);
      problems.push({ message: `${parent ? `${parent}: ` : ''}${issue.issues[0]?.message ?? issue.message}`, key: keyPathToString(path), ...(origin ? { origin } : {}) });
      continue;
    }
    // A mapping where a union also takes a scalar (`dockerfile: PATH` or `{path, …}`): the
    // mapping branch's own problems ("unknown key 'pth' (did you mean 'path'?)") say more.
    if (issue.code === 'invalid_union' && isPlainObject(valueAt(merged.value, path))) {
      const branch = issue.errors.find((errors) => errors.length > 0 && !errors.some((e) => e.code === 'invalid_type' && e.path.length === 0));
      if (branch) {
        problems.push(...issuesToProblems(branch.map((e) => ({ ...e, path: [...path, ...e.path] }) as z.core.$ZodIssue), merged, schema));
        continue;
      }
    }
    const key = keyPathToString(path);
    const origin = originAt(merged.origins, path);
    problems.push({ message: `${key ? `${key}: ` : ''}${messageFor(issue, merged.value)}`, key, ...(origin ? { origin } : {}) });
  }
  return sortProblems(problems);
}

/** File order, then position: the order a person fixes them in. */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, index) => ({ p, index }))
    .sort((a, b) => {
      const fa = a.p.origin?.file ?? '\uffff';
      const fb = b.p.origin?.file ?? '\uffff';
      if (fa !== fb) return fa < fb ? -1 : 1;
      return (a.p.origin?.line ?? 0) - (b.p.origin?.line ?? 0) || (a.p.origin?.column ?? 0) - (b.p.origin?.column ?? 0) || a.index - b.index;
    })
    .map(({ p }) => p);
}

/** ` (did you mean "optional"?)` for a misspelt choice, else nothing. */
function didYouMean(value: unknown, choices: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  const guess = suggest(value, choices.filter((choice): choice is string => typeof choice === 'string'));
  return guess ? ` (did you mean ${JSON.stringify(guess)}?)` : '';
}
