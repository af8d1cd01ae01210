import type { Node } from 'jsonc-parser';
import { type ConfigLayer, type KeyPath, keyPathToString, type Origin } from '../layer.ts';
import type { Position } from './jsonc.ts';

/**
 * Builds a ConfigLayer while remembering, for every key written, the position
 * of the JSON value it came from. Containers (`environment`) take the origin
 * of their first value, so `config show --origin` can point at either.
 */
export interface LayerBuilder {
  set(path: KeyPath, value: unknown, from: Node): void;
  push(path: KeyPath, value: unknown, from: Node): void;
  has(path: KeyPath): boolean;
  /** Records a more precise origin for a value already set (a list item, a map entry). */
  mark(path: KeyPath, from: Node): void;
  build(): ConfigLayer;
}

export function createLayerBuilder(file: string, position: (offset: number) => Position): LayerBuilder {
  const root: Record<string, unknown> = {};
  const origins = new Map<string, Origin>();

  const mark = (path: KeyPath, from: Node) => {
    const at = position(from.offset);
    const origin: Origin = { kind: 'devcontainer', file, line: at.line, column: at.column };
    for (let i = 1; i <= path.length; i++) {
      const key = keyPathToString(path.slice(0, i));
      if (i === path.length || !origins.has(key)) origins.set(key, origin);
    }
  };

  const containerAt = (path: KeyPath): Record<string | number, unknown> => {
    let cursor: Record<string | number, unknown> = root;
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      const next = cursor[part];
      if (next === null || typeof next !== 'object') cursor[part] = typeof path[i + 1] === 'number' ? [] : {};
      cursor = cursor[part] as Record<string | number, unknown>;
    }
    return cursor;
  };

  return {
    set(path, value, from) {
      const parent = containerAt(path.slice(0, -1));
      parent[path.at(-1)!] = value;
      mark(path, from);
    },
    push(path, value, from) {
      const parent = containerAt(path.slice(0, -1));
      const last = path.at(-1)!;
      if (!Array.isArray(parent[last])) parent[last] = [];
      const list = parent[last] as unknown[];
      list.push(value);
      mark([...path, list.length - 1], from);
    },
    has(path) {
      let cursor: unknown = root;
      for (const part of path) {
        if (cursor === null || typeof cursor !== 'object') return false;
        cursor = (cursor as Record<string | number, unknown>)[part];
      }
      return cursor !== undefined;
    },
    mark,
    build: () => ({ kind: 'devcontainer', file, value: root, origins }),
  };
}
