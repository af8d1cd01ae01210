/**
 * The spec's installation order (containers.dev/implementors/features/#installation-order):
 * a dependency graph of hard (dependsOn) and soft (installsAfter) edges,
 * a roundPriority from overrideFeatureInstallOrder, and a round-based sort
 * where each round commits the ready features of the highest priority,
 * sorted by the spec's "round stable sort". Pure: no I/O.
 */
export interface OrderNode {
  /** Unique per distinct feature (content + options). */
  key: string;
  /** Un-versioned, lower-cased name (`ghcr.io/devcontainers/features/node`, `./local`). */
  resource: string;
  /** Names this feature also answers to (its legacyIds, resolved like `resource`). */
  aliases?: readonly string[];
  /** `1`, `1.2.3`, `latest`, or undefined for digests, tarballs and local folders. */
  tag?: string;
  /** Options the user (or a dependsOn entry) set explicitly. */
  userOptions: Readonly<Record<string, string | boolean>>;
  /** Content identity (manifest digest, tarball hash, local path): the final tie-break. */
  canonical: string;
  /** Keys of the nodes this one hard-depends on. */
  dependsOn: readonly string[];
  /** Un-versioned names this one installs after, when they are installed at all. */
  installsAfter: readonly string[];
}

export class FeatureOrderError extends Error {
  readonly cycle: readonly string[] | undefined;

  constructor(message: string, cycle?: readonly string[]) {
    super(message);
    this.cycle = cycle;
  }
}

export interface OrderResult {
  order: OrderNode[];
  /** overrideFeatureInstallOrder entries that match no feature. */
  unmatchedOverrides: string[];
}

export function computeInstallOrder(nodes: readonly OrderNode[], overrideOrder: readonly string[] = []): OrderResult {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const names = (n: OrderNode) => [n.resource, ...(n.aliases ?? [])];

  // (1) the graph: hard edges as given, soft edges only to features that are installed.
  const edges = new Map<string, Set<string>>();
  for (const node of nodes) {
    const deps = new Set<string>();
    for (const dep of node.dependsOn) {
      if (!byKey.has(dep)) throw new FeatureOrderError(`feature ${node.resource} depends on ${dep}, which is not resolved`);
      if (dep !== node.key) deps.add(dep);
      else throw new FeatureOrderError(`feature ${node.resource} depends on itself`, [node.resource, node.resource]);
    }
    for (const after of node.installsAfter) {
      for (const other of nodes) if (other.key !== node.key && names(other).includes(after)) deps.add(other.key);
    }
    edges.set(node.key, deps);
  }

  // (2) roundPriority: n - index for the features the override list names.
  const priority = new Map<string, number>();
  const unmatchedOverrides: string[] = [];
  overrideOrder.forEach((entry, index) => {
    const matching = nodes.filter((n) => names(n).includes(entry));
    if (matching.length === 0) unmatchedOverrides.push(entry);
    for (const n of matching) if (!priority.has(n.key)) priority.set(n.key, overrideOrder.length - index);
  });

  // (3) round-based sorting.
  const installed = new Set<string>();
  const order: OrderNode[] = [];
  let worklist = [...nodes];
  while (worklist.length > 0) {
    const round = worklist.filter((n) => [...edges.get(n.key)!].every((dep) => installed.has(dep)));
    if (round.length === 0) {
      const cycle = findCycle(worklist, edges, byKey);
      throw new FeatureOrderError(`the features cannot be ordered: ${cycle.join(' → ')} form a cycle`, cycle);
    }
    const top = Math.max(...round.map((n) => priority.get(n.key) ?? 0));
    const committed = round.filter((n) => (priority.get(n.key) ?? 0) === top).sort(roundStableCompare);
    for (const n of committed) {
      installed.add(n.key);
      order.push(n);
    }
    worklist = worklist.filter((n) => !installed.has(n.key));
  }
  return { order, unmatchedOverrides };
}

/** The spec's "round stable sort". */
export function roundStableCompare(a: OrderNode, b: OrderNode): number {
  return compareText(a.resource, b.resource)
    || compareTags(a.tag, b.tag)
    || Object.keys(b.userOptions).length - Object.keys(a.userOptions).length
    || compareText(Object.keys(a.userOptions).sort().join('\0'), Object.keys(b.userOptions).sort().join('\0'))
    || compareText(sortedValues(a.userOptions), sortedValues(b.userOptions))
    || compareText(a.canonical, b.canonical);
}

function sortedValues(options: Readonly<Record<string, string | boolean>>): string {
  return Object.keys(options).sort().map((k) => String(options[k])).join('\0');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Oldest to newest: numeric version parts compared as numbers, `latest` newest, no tag first. */
function compareTags(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (a === 'latest') return 1;
  if (b === 'latest') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const d = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : compareText(x, y);
    if (d !== 0) return d;
  }
  return 0;
}

/** A cycle among the features left over, as resources (first repeated at the end). */
function findCycle(remaining: readonly OrderNode[], edges: ReadonlyMap<string, ReadonlySet<string>>, byKey: ReadonlyMap<string, OrderNode>): string[] {
  const left = new Set(remaining.map((n) => n.key));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (key: string): string[] | undefined => {
    state.set(key, 'open');
    stack.push(key);
    for (const dep of edges.get(key) ?? []) {
      if (!left.has(dep)) continue;
      if (state.get(dep) === 'open') return [...stack.slice(stack.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(key, 'done');
    return undefined;
  };
  for (const node of remaining) {
    if (state.has(node.key)) continue;
    const found = visit(node.key);
    // Edges point at what must come first; reverse so the cycle reads "installs after".
    if (found) return found.reverse().map((k) => byKey.get(k)!.resource);
  }
  return remaining.map((n) => n.resource);
}
