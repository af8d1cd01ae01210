import { type Node, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { MAX_CONFIG_NESTING } from '../config-text.ts';
import type { Origin } from '../layer.ts';
import { type ConfigProblem, displayPath, problemsError } from '../problems.ts';

/** Line and column, both 1-based, as editors and `file:line:col` links count them. */
export interface Position {
  line: number;
  column: number;
}

/** Maps character offsets to positions; built once per file (offsets are looked up many times). */
export function createPositionLookup(text: string): (offset: number) => Position {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - lineStarts[low]! + 1 };
  };
}

/**
 * Parses devcontainer.json the way VS Code does (comments and trailing commas
 * allowed) but keeps the syntax tree, so every value can be traced back to its
 * position. Syntax errors are CONFIG_UNREADABLE at file:line:col.
 */
export function parseJsoncTree(withBom: string, file: string, baseDir?: string): Node {
  const text = withBom.replace(/^\uFEFF/, ''); // editors write a BOM; JSON parsers refuse it
  const errors: ParseError[] = [];
  const position = createPositionLookup(text);
  const tooDeep = deepestOpening(text);
  if (tooDeep !== undefined) {
    throw problemsError('CONFIG_UNREADABLE', `cannot parse ${displayPath(file, baseDir)}`, `no devcontainer.json nests this deep: check the file is the one you meant`,
      [{ message: `nesting deeper than ${MAX_CONFIG_NESTING} levels`, origin: { kind: 'devcontainer', file, ...position(tooDeep) } }], new Map([[file, text]]), baseDir);
  }
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const origin = (offset: number): Origin => ({ kind: 'devcontainer', file, ...position(offset) });
  const unreadable = (problems: ConfigProblem[]) =>
    problemsError('CONFIG_UNREADABLE', `cannot parse ${displayPath(file, baseDir)}`, 'fix the JSON syntax at the position shown (comments and trailing commas are fine)',
      problems, new Map([[file, text]]), baseDir);
  if (errors.length > 0 || !tree) {
    // Later errors are usually echoes of the first (a missing comma cascades).
    const problems = errors.slice(0, 1).map((e) => ({ message: describeParseError(e), origin: origin(e.offset) }));
    throw unreadable(problems.length > 0 ? problems : [{ message: 'the file is empty', origin: origin(0) }]);
  }
  if (tree.type !== 'object') throw unreadable([{ message: 'devcontainer.json must hold a JSON object ({ … })', origin: origin(tree.offset) }]);
  return tree;
}

/**
 * The offset of the first `[`/`{` nested deeper than MAX_CONFIG_NESTING
 * (strings and comments skipped), else undefined. The parser recurses per
 * level: 5,000 levels would overflow the stack.
 */
function deepestOpening(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_CONFIG_NESTING) return i;
    } else if (c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

function describeParseError(error: ParseError): string {
  // InvalidSymbol -> "invalid symbol"
  return printParseErrorCode(error.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** The property nodes of an object node, as [key, keyNode, valueNode]. */
export function objectEntries(node: Node): Array<{ key: string; keyNode: Node; value: Node }> {
  const out: Array<{ key: string; keyNode: Node; value: Node }> = [];
  if (node.type !== 'object') return out;
  for (const property of node.children ?? []) {
    const [keyNode, value] = property.children ?? [];
    if (keyNode && value && typeof keyNode.value === 'string') out.push({ key: keyNode.value, keyNode, value });
  }
  return out;
}

export function property(node: Node, key: string): Node | undefined {
  return objectEntries(node).find((entry) => entry.key === key)?.value;
}
