import { IMAGE_SOURCE_KEYS, keyPathToString, originAt, type ConfigLayer, type KeyPath, type Origin } from './layer.ts';

export interface MergedConfig {
  value: Record<string, unknown>;
  /** Origin of every key path in `value` (leaves and containers). */
  origins: Map<string, Origin>;
  /** Where each key was written, for unknown-key errors. */
  keyOrigins: Map<string, Origin>;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The origin recorded for a path, else its nearest ancestor's, else the layer itself. */
export function originIn(layer: ConfigLayer, path: KeyPath): Origin {
  return originAt(layer.origins, path) ?? { kind: layer.kind, ...(layer.file ? { file: layer.file } : {}) };
}

/** `a.b` is under `a`, `a[0]` too; `ab` is not. */
export function isUnder(candidate: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!candidate.startsWith(prefix)) return false;
  const next = candidate[prefix.length];
  return next === undefined || next === '.' || next === '[';
}

/**
 * Visits `value` and every node below it with its key path string, in one
 * pass: linear in the subtree (a scan of every recorded key per changed key
 * made 18,000 env keys take a minute).
 */
function walkPaths(value: unknown, prefix: string, visit: (key: string, parent: string | undefined) => void): void {
  const stack: Array<[string, unknown, string | undefined]> = [[prefix, value, undefined]];
  while (stack.length > 0) {
    const [key, node, parent] = stack.pop()!;
    visit(key, parent);
    if (Array.isArray(node)) node.forEach((item, i) => stack.push([`${key}[${i}]`, item, key]));
    else if (isPlainObject(node)) for (const [k, v] of Object.entries(node)) stack.push([key === '' ? k : `${key}.${k}`, v, key]);
  }
}

/** Forgets the origins of a value about to be replaced: its own paths, found by walking it. */
function dropUnder(merged: MergedConfig, prefix: string, replaced: unknown): void {
  walkPaths(replaced, prefix, (key) => {
    merged.origins.delete(key);
    merged.keyOrigins.delete(key);
  });
}

/** Records where every path of a copied value came from; recorded origins first, else the nearest ancestor's. */
function copyUnder(from: ConfigLayer, to: MergedConfig, path: KeyPath, value: unknown): void {
  const inherited = originIn(from, path);
  const nearest = new Map<string, Origin>();
  walkPaths(value, keyPathToString(path), (key, parent) => {
    const origin = from.origins.get(key) ?? (parent === undefined ? undefined : nearest.get(parent)) ?? inherited;
    nearest.set(key, origin);
    to.origins.set(key, origin);
    const keyOrigin = from.keyOrigins?.get(key);
    if (keyOrigin) to.keyOrigins.set(key, keyOrigin);
  });
}

/**
 * Merges layers lowest-first: objects merge key by key, arrays and scalars
 * replace, and a null/empty value means "not set here". The image source
 * (base_image / dockerfile / devcontainer) is one choice: a layer that sets
 * any of them replaces whichever a lower layer set.
 */
export function mergeLayers(layers: readonly ConfigLayer[]): MergedConfig {
  const merged: MergedConfig = { value: {}, origins: new Map(), keyOrigins: new Map() };
  for (const layer of layers) mergeObject(merged, merged.value, layer, layer.value, []);
  return merged;
}

function mergeObject(merged: MergedConfig, target: Record<string, unknown>, layer: ConfigLayer, source: Record<string, unknown>, path: KeyPath): void {
  if (path.length === 1 && path[0] === 'environment' && IMAGE_SOURCE_KEYS.some((k) => source[k] !== undefined && source[k] !== null)) {
    for (const key of IMAGE_SOURCE_KEYS) {
      if (key in target && (source[key] === undefined || source[key] === null)) {
        dropUnder(merged, keyPathToString([...path, key]), target[key]);
        delete target[key];
      }
    }
  }
  for (const [key, value] of Object.entries(source)) {
    if (value === null || value === undefined) continue;
    const childPath = [...path, key];
    // Own properties only: `__proto__` must never reach Object.prototype.
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(value) && isPlainObject(existing)) {
      merged.origins.set(keyPathToString(childPath), originIn(layer, childPath));
      const keyOrigin = layer.keyOrigins?.get(keyPathToString(childPath));
      if (keyOrigin) merged.keyOrigins.set(keyPathToString(childPath), keyOrigin);
      mergeObject(merged, existing, layer, value, childPath);
      continue;
    }
    if (existing !== undefined) dropUnder(merged, keyPathToString(childPath), existing);
    const copy = cloneWithoutNulls(value);
    setOwn(target, key, copy);
    copyUnder(layer, merged, childPath, copy);
  }
}

/** Sets a property even when the key is `__proto__` (YAML may contain any key). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function cloneWithoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneWithoutNulls);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) if (child !== null && child !== undefined) setOwn(out, key, cloneWithoutNulls(child));
  return out;
}

/** The value at a key path, or undefined. */
export function valueAt(root: unknown, path: KeyPath): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}
