import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // Other conversion failures are reported, with positions, by convert() below.
    if (/alias/i.test(String(error))) {
      const firstAlias = /\*[^\s,\]}]+/.exec(text);
      throw unreadable([{ message: `too many aliases (*name) expand here (more than ${MAX_ALIAS_COUNT}); a configuration does not need this, it looks like an alias bomb`, origin: at(firstAlias?.index) }]);
    }
  }

  const origins = new Map<string, Origin>();
  const keyOrigins = new Map<string, Origin>();
  const problems: ConfigProblem[] = [];

  const convert = (node: unknown, path: KeyPath, active: Set<unknown>): unknown => {
    if (node === null || node === undefined) return null;
    const key = keyPathToString(path);
    const range = (node as Node).range;
    if (isAlias(node)) {
      const target = node.resolve(doc as Document);
      if (!target || active.has(target) || path.length > MAX_DEPTH) {
        problems.push({ message: 'this alias refers to itself or to nothing', origin: at(range?.[0]), key });
        return null;
      }
      active.add(target);
      const value = convert(target, path, active);
      active.delete(target);
      // The alias is where the value was set, not the anchor.
      origins.set(key, at(range?.[0]));
      return value;
    }
    if (path.length > MAX_DEPTH) {
      problems.push({ message: `nesting deeper than ${MAX_DEPTH} levels`, origin: at(range?.[0]), key });
      return null;
    }
    origins.set(key, at(range?.[0]));
    if (isScalar(node)) return node.value ?? null;
    if (isSeq(node)) return node.items.map((item, index) => convert(item, [...path, index], active));
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const keyOffset = keyNode?.range?.[0] ?? range?.[0];
        if (keyNode !== null && !isScalar(keyNode)) {
          problems.push({ message: 'mapping keys must be plain words, not lists or maps', origin: at(keyOffset), key });
          continue;
        }
        const name = keyNode === null ? '' : String(keyNode.value ?? '');
        const childPath = [...path, name];
        const childKey = keyPathToString(childPath);
        if (Object.hasOwn(out, name)) {
          problems.push({ message: 'Map keys must be unique (a second value would silently win)', origin: at(keyOffset), key: childKey });
          continue;
        }
        keyOrigins.set(childKey, at(keyOffset));
        const value = convert(pair.value, childPath, active);
        setOwn(out, name, value);
        // A key with no value (`remote:`) has no node; point at the key.
        if (pair.value === null || pair.value === undefined) origins.set(childKey, at(keyOffset));
        else if (isMap(pair.value) || isSeq(pair.value)) origins.set(childKey, at(keyOffset));
      }
      return out;
    }
    problems.push({ message: 'unsupported YAML node', origin: at(range?.[0]), key });
    return null;
  };

  const value = convert(doc.contents, [], new Set());
  if (problems.length > 0) throw unreadable(problems);
  if (value === null) return { kind, file, value: {}, origins, keyOrigins, source: text };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw unreadable([{ message: 'the file must be a mapping of keys (like `environment:`), not a single value or a list', origin: at(doc.contents?.range?.[0]) }]);
  }
  return { kind, file, value: value as Record<string, unknown>, origins, keyOrigins, source: text };
}

function describeYamlError(message: string): string {
  if (/call stack/i.test(message)) return `nesting deeper than ${MAX_DEPTH} levels`;
  return firstLine(message);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
