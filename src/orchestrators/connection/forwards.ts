import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ForwardRecord, StateStore } from '../../db/index.ts';
import type { EnsureResult } from '../../services/containers/types.ts';
import type { HostForward } from '../../services/host/types.ts';
import type { ContainerPlan } from './container-plan.ts';
import type { ProjectSession } from './connection-orchestrator.ts';
import { holderRunning, portAccepts, stopHolder } from '../../services/host/forward-holder.ts';

/**
 * The PortForwarder: every `-p` and `environment.ports` entry of a project.
 *
 * - `local` target: the container publishes the port on 127.0.0.1 itself; nothing to hold.
 * - remote, attached `connect`: the forward rides the shared master (`ssh -O forward`)
 *   and is cancelled when the shell exits.
 * - remote, `--detach` (and `--no-attach`, where nothing else would keep it): each forward
 *   is a background ssh of its own (./forward-holder.ts), recorded with its pid and socket,
 *   until `ports close`, `down`, or the network drops it.
 */
export type ForwardKind = 'published' | 'session' | 'detached';

export interface ForwardView {
  local: number;
  container: number;
}

export interface ForwardStatus extends ForwardView {
  target: string;
  kind: ForwardKind;
  /** The local port accepts connections (and, when detached, its ssh process runs). */
  alive: boolean;
  pid: number | null;
}

export interface CloseResult {
  closed: ForwardStatus[];
  /** Published by a local container: they go away with the container. */
  kept: ForwardStatus[];
}

export interface PortForwarderDeps {
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  projectDir: string;
  state(): Promise<StateStore>;
  withSession<T>(target: string | undefined, work: (session: ProjectSession) => Promise<T>): Promise<T>;
}

export function kindOf(record: Pick<ForwardRecord, 'remote' | 'controlPath'>): ForwardKind {
  if (record.controlPath !== null) return 'detached';
  return record.remote === 'local' ? 'published' : 'session';
}

export function createPortForwarder(deps: PortForwarderDeps) {
  /** Forwards this process holds on the master, cancelled by releaseSession(). */
  const held: { id: number; forward: HostForward; state: StateStore }[] = [];

  async function statusOf(record: ForwardRecord): Promise<ForwardStatus> {
    const kind = kindOf(record);
    const running = kind === 'detached' && record.pid !== null ? await holderRunning(record.pid, record.controlPath!) : true;
    return {
      target: record.remote,
      local: record.localPort,
      container: record.remotePort,
      kind,
      alive: running && (await portAccepts(record.localPort)),
      pid: record.pid,
    };
  }

  /** Cancels a master forward: its remote end is the container's current published port. */
  async function cancelSessionForward(session: ProjectSession, record: ForwardRecord): Promise<void> {
    const mine = held.findIndex((h) => h.id === record.id);
    if (mine !== -1) {
      await held[mine]!.forward.close();
      held.splice(mine, 1);
      return;
    }
    if (!(await portAccepts(record.localPort))) return;
    const container = session.state.getContainer(session.projectId, session.place.name);
    const info = container ? await session.place.containers.inspect(container.containerId) : undefined;
    const published = info?.ports.find((p) => p.container === record.remotePort && p.protocol === 'tcp');
    if (!published) return;
    // Asking the master for a forward it already has answers OK; closing it cancels the original.
    const forward = await session.place.host.forwardPort(published.host, { localPort: record.localPort, ifBusy: 'reuse' });
    await forward?.close();
  }

  async function closeRecords(session: ProjectSession | undefined, state: StateStore, records: readonly ForwardRecord[]): Promise<void> {
    for (const record of records) {
      const kind = kindOf(record);
      if (kind === 'detached') await stopHolder({ pid: record.pid, controlPath: record.controlPath! });
      if (kind === 'session' && session) await cancelSessionForward(session, record);
      state.removeForward(record.id);
    }
  }

  async function apply(session: ProjectSession, plan: ContainerPlan, ensured: EnsureResult, options: { detach: boolean }): Promise<ForwardView[]> {
    const { state, place } = session;
    const views: ForwardView[] = [];
    const recorded = state.listForwards({ projectId: session.projectId, remote: place.name });
    const keep = new Set<number>();
    if (ensured.action === 'reused' && options.detach) {
      // Same container, same published ports: a running holder for the same mapping still fits.
      for (const record of recorded) {
        const wanted = plan.forwards.some((f) => f.local === record.localPort && f.container === record.remotePort && f.protocol === 'tcp');
        if (wanted && kindOf(record) === 'detached' && (await statusOf(record)).alive) keep.add(record.id);
      }
    }
    await closeRecords(session, state, recorded.filter((r) => !keep.has(r.id)));

    for (const wanted of plan.forwards) {
      const published = ensured.ports.find((p) => p.container === wanted.container && p.protocol === wanted.protocol);
      if (!published) continue;
      if (recorded.some((r) => keep.has(r.id) && r.localPort === wanted.local)) {
        views.push({ local: wanted.local, container: wanted.container });
        continue;
      }
      const forward = await deps.reporter.task(`Forwarding 127.0.0.1:${wanted.local}${options.detach ? ' (detached)' : ''}`, () =>
        place.host.forwardPort(published.host, { localPort: wanted.local, containerPort: wanted.container, protocol: wanted.protocol, detach: options.detach }));
      if (!forward) {
        deps.reporter.warn(`UDP port ${wanted.container} is published on ${place.name}'s 127.0.0.1:${published.host} only: SSH cannot forward UDP to this machine`);
        continue;
      }
      if (wanted.protocol === 'udp') continue; // published here by the engine; not a TCP forward to probe or close
      const record = state.addForward({
        projectId: session.projectId, remote: place.name, localPort: forward.localPort, remotePort: wanted.container,
        ...(forward.holder ? { pid: forward.holder.pid, controlPath: forward.holder.controlPath } : forward.kind === 'session' ? { pid: process.pid } : {}),
      });
      if (forward.kind === 'session') held.push({ id: record.id, forward, state });
      views.push({ local: forward.localPort, container: wanted.container });
    }
    return views;
  }

  /** Ends the forwards this process holds on the master (the attached shell exited). */
  async function releaseSession(): Promise<void> {
    for (const { id, forward, state } of held.splice(0)) {
      await forward.close().catch(() => {});
      state.removeForward(id);
    }
  }

  /** The project's forwards (of one target, or all), each probed. Needs no connection. */
  async function list(target?: string): Promise<ForwardStatus[]> {
    const state = await deps.state();
    const project = state.getProjectByPath(deps.projectDir);
    if (!project) return [];
    const records = state.listForwards({ projectId: project.id, ...(target ? { remote: target } : {}) });
    return Promise.all(records.map(statusOf));
  }

  /** Closes one local port's forward, or all of the project's (of one target, or everywhere). */
  async function close(target: string | undefined, which: { port: number } | { all: true }): Promise<CloseResult> {
    const state = await deps.state();
    const project = state.getProjectByPath(deps.projectDir);
    const records = project ? state.listForwards({ projectId: project.id, ...(target ? { remote: target } : {}) }) : [];
    const chosen = 'port' in which ? records.filter((r) => r.localPort === which.port) : records;
    if (chosen.length === 0) {
      throw new UserError('FORWARD_NOT_FOUND',
        'port' in which ? `no forward of this project listens on local port ${which.port}${target ? ` for ${target}` : ''}` : `this project has no forwards${target ? ` on ${target}` : ''}`,
        'see them with: mltoolbox ports list');
    }
    const kept = chosen.filter((r) => kindOf(r) === 'published');
    if ('port' in which && kept.length === chosen.length) {
      throw new UserError('USAGE', `port ${which.port} is published by the local dev container itself; there is no tunnel to close`,
        'it goes away with the container: mltoolbox down local (or remove it from environment.ports and run mltoolbox connect local again)');
    }
    const closing = chosen.filter((r) => kindOf(r) !== 'published');
    const closed = await Promise.all(closing.map(statusOf));
    const byTarget = new Map<string, ForwardRecord[]>();
    for (const record of closing) byTarget.set(record.remote, [...(byTarget.get(record.remote) ?? []), record]);
    for (const [name, group] of byTarget) {
      const needsSession = group.some((r) => kindOf(r) === 'session' && closed[closing.indexOf(r)]!.alive);
      if (needsSession) {
        await deps.withSession(name, (session) => closeRecords(session, state, group));
      } else {
        await closeRecords(undefined, state, group);
      }
    }
    return { closed, kept: await Promise.all(kept.map(statusOf)) };
  }

  /** `down`: the container is gone, so are its forwards. */
  async function closeAll(session: ProjectSession): Promise<void> {
    await closeRecords(session, session.state, session.state.listForwards({ projectId: session.projectId, remote: session.place.name }));
  }

  return { apply, releaseSession, list, close, closeAll };
}

export type PortForwarder = ReturnType<typeof createPortForwarder>;
