import { posix } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { ContainerSummary, MountPoint } from '../services/containers/types.ts';

/** The container a command acts on, and where the caller's folder is inside it. */
export interface Located {
  container: ContainerSummary;
  /** The container path of the current folder when it is inside the project's bind mount. */
  cwdInContainer?: string;
  /** How it was chosen, for `status`. */
  by: 'cwd' | 'project' | 'config' | 'only-running';
}

export interface LocateInput {
  /** Every mltoolbox container on this host (running or not). */
  containers: readonly ContainerSummary[];
  cwd: string;
  /** `--project NAME`. */
  project?: string;
  /** agent.yaml's `project`. */
  defaultProject?: string;
}

/** A project is named by its slug (`model-3f2a9c1d`), its name part (`model`) or its container's name. */
export function matchesProject(container: ContainerSummary, name: string): boolean {
  const slug = container.project ?? '';
  return slug === name || container.name === name || slug.replace(/-[0-9a-f]{8}$/, '') === name;
}

/**
 * The path translated through the deepest bind mount holding it: host ->
 * container (`from: 'source'`) or container -> host (`from: 'destination'`).
 * `depth` is the matched root's length (a deeper mount wins).
 */
export function throughBindMount(mounts: readonly MountPoint[], path: string, from: 'source' | 'destination'): { depth: number; path: string } | undefined {
  let best: { depth: number; path: string } | undefined;
  for (const mount of mounts) {
    if (mount.type !== 'bind' || !mount.source) continue;
    const root = mount[from]!.replace(/\/+$/, '') || '/';
    const other = from === 'source' ? mount.destination : mount.source;
    if (path !== root && !path.startsWith(root === '/' ? '/' : `${root}/`)) continue;
    if (best && best.depth >= root.length) continue;
    best = { depth: root.length, path: posix.join(other, path.slice(root.length)) };
  }
  return best;
}

function mountHolding(container: ContainerSummary, cwd: string): { depth: number; path: string } | undefined {
  return throughBindMount(container.mounts, cwd, 'source');
}

/**
 * Picks the container: the one whose project folder holds the current
 * folder; else --project; else agent.yaml's project; else the only running
 * one. Never guesses between several.
 */
export function locateContainer(input: LocateInput): Located {
  const running = input.containers.filter((c) => c.state === 'running');
  const listing = input.containers.map((c) => `${c.project ?? '?'}  ${c.name}  ${c.state}`);
  const named = input.project ?? input.defaultProject;
  if (named !== undefined) {
    const matches = input.containers.filter((c) => matchesProject(c, named));
    const chosen = matches.find((c) => c.state === 'running') ?? matches[0];
    if (matches.length > 1 && matches.filter((c) => c.state === 'running').length > 1) {
      throw new UserError('AGENT_CONTAINER_AMBIGUOUS', `several containers match the project ${JSON.stringify(named)}`, 'name it by its full slug from mlt ps: mlt --project SLUG …', { details: matches.map((c) => `${c.project ?? '?'}  ${c.name}  ${c.state}`) });
    }
    if (!chosen) {
      throw new UserError('AGENT_PROJECT_UNKNOWN', `no mltoolbox container on this host belongs to the project ${JSON.stringify(named)}`,
        input.containers.length ? 'pick one of the projects listed above (mlt ps)' : 'start it from your machine: mltoolbox connect HOST',
        { details: listing });
    }
    const inside = mountHolding(chosen, input.cwd);
    return { container: chosen, ...(inside ? { cwdInContainer: inside.path } : {}), by: input.project !== undefined ? 'project' : 'config' };
  }
  const holding = input.containers
    .map((container) => ({ container, inside: mountHolding(container, input.cwd) }))
    .filter((c): c is { container: ContainerSummary; inside: { depth: number; path: string } } => c.inside !== undefined)
    .sort((a, b) => b.inside.depth - a.inside.depth || Number(b.container.state === 'running') - Number(a.container.state === 'running'));
  if (holding.length > 0) return { container: holding[0]!.container, cwdInContainer: holding[0]!.inside.path, by: 'cwd' };
  if (running.length === 1) return { container: running[0]!, by: 'only-running' };
  if (running.length === 0) {
    throw new UserError('AGENT_NO_CONTAINER', input.containers.length ? 'no mltoolbox dev container is running on this host' : 'there is no mltoolbox dev container on this host',
      'start one from your machine with: mltoolbox connect HOST', { details: listing });
  }
  throw new UserError('AGENT_CONTAINER_AMBIGUOUS', `${running.length} mltoolbox dev containers run on this host and the current folder is in none of their projects`,
    'cd into the project folder, or pass --project NAME (one of those listed), or set project: in ~/.config/mltoolbox/agent.yaml',
    { details: running.map((c) => `${c.project ?? '?'}  ${c.name}  ${c.status}`) });
}
