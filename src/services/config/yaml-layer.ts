import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Alias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { keyPathToString, type ConfigLayer, type KeyPath, type Origin, type OriginKind } from './layer.ts';
import { MAX_CONFIG_NESTING } from './config-text.ts';
import { setOwn } from './merge.ts';
import { problemsError, type ConfigProblem } from './problems.ts';

const MAX_DEPTH = MAX_CONFIG_NESTING;
/** Aliases expanded per document, as the yaml library counts them: a "billion laughs" file stops here, not at 4 GB. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses one YAML config file into a layer that remembers where every key
 * and value is written (file:line:column). Syntax errors, duplicate keys and
 * non-mapping documents are CONFIG_UNREADABLE, all reported at once.
 */
export function parseYamlLayer(text: string, file: string, kind: OriginKind, baseDir?: string): ConfigLayer {
  const lineCounter = new LineCounter();
  // Duplicate keys are found in convert() with a Set: the library's own check scans the map per key (quadratic).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: false });
  const at = (offset: number | undefined): Origin => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { kind, file, line, column: col };
  };
  const sources = new Map([[file, text]]);
  const unreadable = (problems: ConfigProblem[]) =>
    problemsError('CONFIG_UNREADABLE', `cannot parse ${file}`, 'fix the YAML syntax at the position shown', problems, sources, baseDir);

  if (doc.errors.length > 0) {
    // At most a few: a wrong file (binary, not YAML) makes an error per line.
    throw unreadable(doc.errors.slice(0, 3).map((error) => ({ message: describeYamlError(error.message), origin: at(error.pos[0]) })));
  }
  const bomb = aliasBomb(doc, text);
  if (bomb) throw unreadable([{ message: bomb.message, origin: at(bomb.offset) }]);

  const origins = new Map<string, Origin>();
  const keyOrigins = new Map<string, Origin>();
  const problems: ConfigProblem[] = [];

  const convert = (node: unknown, path: KeyPath, active: Set<unknown>): unknown => {
    if (node === null || node === undefined) return null;
    const key = keyPathToString(path);
    const offset = (node as Node).range?.[0];
    if (isAlias(node)) return convertAlias(node, path, active);
    if (path.length > MAX_DEPTH) {
      problems.push({ message: `nesting deeper than ${MAX_DEPTH} levels`, origin: at(offset), key });
      return null;
    }
    origins.set(key, at(offset));
    if (isScalar(node)) return node.value ?? null;
    if (isSeq(node)) return node.items.map((item, index) => convert(item, [...path, index], active));
    if (isMap(node)) return convertMap(node, path, active);
    problems.push({ message: 'unsupported YAML node', origin: at(offset), key });
    return null;
  };

  /** An alias: its anchor's value, but set where the alias is. */
  const convertAlias = (node: Alias, path: KeyPath, active: Set<unknown>): unknown => {
    const key = keyPathToString(path);
    const offset = node.range?.[0];
    const target = node.resolve(doc as Document);
    if (!target || active.has(target) || path.length > MAX_DEPTH) {
      problems.push({ message: 'this alias refers to itself or to nothing', origin: at(offset), key });
      return null;
    }
    active.add(target);
    const value = convert(target, path, active);
    active.delete(target);
    origins.set(key, at(offset));
    return value;
  };

  const convertMap = (node: YAMLMap, path: KeyPath, active: Set<unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) convertPair(pair, out, path, active, node.range?.[0]);
    return out;
  };

  /** One `key: value` of a mapping, into `out`; a non-scalar or repeated key is a problem. */
  const convertPair = (pair: Pair, out: Record<string, unknown>, path: KeyPath, active: Set<unknown>, mapOffset: number | undefined): void => {
    const keyNode = pair.key as Node | null;
    const keyOffset = keyNode?.range?.[0] ?? mapOffset;
    const name = keyName(keyNode);
    if (name === undefined) {
      problems.push({ message: 'mapping keys must be plain words, not lists or maps', origin: at(keyOffset), key: keyPathToString(path) });
      return;
    }
    const childPath = [...path, name];
    const childKey = keyPathToString(childPath);
    if (Object.hasOwn(out, name)) {
      problems.push({ message: 'Map keys must be unique (a second value would silently win)', origin: at(keyOffset), key: childKey });
      return;
    }
    keyOrigins.set(childKey, at(keyOffset));
    setOwn(out, name, convert(pair.value, childPath, active));
    if (shownAtKey(pair.value)) origins.set(childKey, at(keyOffset));
  };

  const value = convert(doc.contents, [], new Set());
  if (problems.length > 0) throw unreadable(problems);
  if (value === null) return { kind, file, value: {}, origins, keyOrigins, source: text };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw unreadable([{ message: 'the file must be a mapping of keys (like `environment:`), not a single value or a list', origin: at(doc.contents?.range?.[0]) }]);
  }
  return { kind, file, value: value as Record<string, unknown>, origins, keyOrigins, source: text };
}

/** An alias bomb ("billion laughs"): the yaml library's own alias expansion limit, at the first alias. */
function aliasBomb(doc: Document, text: string): { message: string; offset: number | undefined } | undefined {
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return undefined;
  } catch (error) {
    // Other conversion failures are reported, with positions, by convert().
    if (!/alias/i.test(String(error))) return undefined;
    return {
      message: `too many aliases (*name) expand here (more than ${MAX_ALIAS_COUNT}); a configuration does not need this, it looks like an alias bomb`,
      offset: /\*[^\s,\]}]+/.exec(text)?.index,
    };
  }
}

/** A mapping key as a string ('' for `: value`), or undefined for a list or map used as a key. */
function keyName(keyNode: Node | null): string | undefined {
  if (keyNode === null) return '';
  return isScalar(keyNode) ? String(keyNode.value ?? '') : undefined;
}

/** A key with no value (`remote:`) has no node, and a mapping or list is best shown at its key. */
function shownAtKey(value: unknown): boolean {
  return value === null || value === undefined || isMap(value) || isSeq(value);
}

function describeYamlError(message: string): string {
  if (/call stack/i.test(message)) return `nesting deeper than ${MAX_DEPTH} levels`;
  return firstLine(message);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
