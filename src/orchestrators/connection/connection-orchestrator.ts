import type { Host } from '../../services/host/types.ts';
import type { SyncSummary } from '../../services/sync/types.ts';
import { UserError } from '../../core/errors.ts';
import type { TransferResult } from '../../services/images/transfer.ts';
import { createConnectionHooks } from '../plugins/connection-hooks.ts';
import type { ConnectOptions, ConnectResult } from './connect.ts';
import { lazy } from '../../core/lazy.ts';
import { createLocalHooks } from './local-commands.ts';
import { createPortForwarder, type PortForwarder } from './forwards.ts';
import type { GpuStatus } from '../../services/gpu/status.ts';
import type { InstanceView } from '../provisioning/instance-view.ts';
import { createProjectCommands, type HostContainer, type HostContainersSource, type HostStatusSource, type SyncOptions } from './project-commands.ts';
import { createSessions, type ConnectionDeps, type OpenOptions, type ProjectSession, type Sessions } from './session.ts';

export type { ConnectionDeps, ProjectSession } from './session.ts';
export type { ConnectOptions, ConnectResult } from './connect.ts';
export type { ForwardView } from './forwards.ts';
export type { HostContainer, HostContainersSource, HostStatusSource } from './project-commands.ts';
/** status's GPU lines (the reading itself lives in services/gpu, shared with the agent). */
export { describeGpuStatus, type GpuStatus } from '../../services/gpu/status.ts';

/**
 * connect and the project commands, as the CLI and other orchestrators see
 * them. Built from parts that change for different reasons:
 *
 * - `session.ts` — how a project's place (target, Host, engine) and container are found and closed;
 * - `image.ts` — which image a plan runs, and the tag a Dockerfile build gets;
 * - `connect.ts` — the connect pipeline (sync, image, container, lifecycle, hooks, forwards; workers);
 * - `project-commands.ts` — sync, watch, fetch, exec, shell, logs, status, stop, down;
 * - `forwards.ts` — the port forwarder.
 */
export interface ConnectionOrchestrator {
  connect(options: ConnectOptions): Promise<ConnectResult>;
  /** connect, then a shell in the head's container on the same connection; `ready` sees the result first. */
  connectAndAttach(options: ConnectOptions, tty: boolean, ready: (result: ConnectResult) => void): Promise<{ result: ConnectResult; exitCode: number }>;
  /** `ports list|close` and connect's forwards. */
  ports: PortForwarder;
  open(target: string | undefined, options?: OpenOptions): Promise<ProjectSession>;
  withSession<T>(target: string | undefined, work: (session: ProjectSession) => Promise<T>, options?: OpenOptions): Promise<T>;
  requireContainer(session: ProjectSession): Promise<string>;
  containerHost(session: ProjectSession): Promise<Host>;
  /** Runs argv in the dev container on the user's terminal; resolves with its exit code. */
  execInContainer(target: string | undefined, argv: readonly string[], options: { tty: boolean; interactive: boolean }): Promise<number>;
  /** A login shell (bash, else sh) in the dev container: post_attach_command first, hooks.pre_disconnect after. */
  shell(target: string | undefined, tty: boolean): Promise<number>;
  /** One push, or a watch (--watch, or sync.watch.enabled without --once): then no summary. */
  sync(target: string | undefined, options: SyncOptions): Promise<{ target: string; remoteDir: string; summary?: SyncSummary; watched: boolean }>;
  fetch(target: string | undefined, remotePath: string, localPath: string | undefined): Promise<{ target: string; summary: SyncSummary }>;
  logs(target: string | undefined, options: { follow: boolean; tail?: number; signal?: AbortSignal }, write: (stream: 'stdout' | 'stderr', data: Buffer) => void): Promise<void>;
  status(target: string | undefined): Promise<ProjectStatus>;
  /** Every mltoolbox container on the target's engine (all projects). */
  ps(target: string | undefined): Promise<HostContainers>;
  /** ps from the relay's view of the host (no SSH); undefined when it has none. */
  psFrom(target: string | undefined, source: HostContainersSource): Promise<HostContainers | undefined>;
  /** The project container's last `tail` lines from the relay (no SSH); undefined when it has none. */
  logsFrom(target: string | undefined, tail: number, source: HostContainersSource): Promise<{ target: string; container: string; text: string } | undefined>;
  /** status from the relay's view of the host (no SSH); undefined when it has none. */
  statusFrom(target: string | undefined, source: HostStatusSource): Promise<ProjectStatus | undefined>;
  stop(target: string | undefined): Promise<{ target: string; container: string; action: 'stopped' }>;
  down(target: string | undefined): Promise<{ target: string; container: string; action: 'removed' | 'already-gone'; filesKept: string }>;
  /** `image push HOST IMAGE`: the image from this machine's engine to the host's, only the missing layers. */
  pushImage(target: string | undefined, reference: string): Promise<TransferResult & { target: string }>;
  /** Where a project command would go (the target's name: as given, else the project's last one, remote.host, or local); no connection. */
  locate: Sessions['locate'];
}

export interface HostContainers {
  target: string;
  /** This project's slug: its container is the one whose project matches. */
  project: string;
  containers: HostContainer[];
}

export interface ProjectStatus {
  target: string;
  project: string;
  remoteDir?: string;
  container: { id: string; name: string; image: string; state: string; status: string; startedAt?: string; finishedAt?: string; exitCode?: number } | null;
  forwards: Awaited<ReturnType<PortForwarder['list']>>;
  gpu: GpuStatus;
  lastSync: { at: string; summary: unknown } | null;
  /** A provisioned instance: what it costs so far and its idle timer. */
  instance?: InstanceView;
  /** The ssh Host alias connect wrote for the dev container (docs/editors.md), or null. */
  sshHost: string | null;
}

export function createConnectionOrchestrator(deps: ConnectionDeps): ConnectionOrchestrator {
  const hooks = createConnectionHooks(deps.plugins ? () => deps.plugins!() : undefined, { projectDir: deps.projectDir, command: deps.command ?? 'command' });
  const sessions = createSessions(deps, hooks);
  const forwarder = createPortForwarder({ ...deps, withSession: sessions.withSession });
  const localHooks = createLocalHooks(deps);
  const commands = createProjectCommands({ ...deps, sessions, hooks, localHooks, forwarder });
  const { pushProject, attach, ...projectCommands } = commands;
  // The connect pipeline (images, features, agent, container plan) loads only for connect: exec, sync and status never see it.
  const pipeline = lazy(async () => (await import('./connect.ts')).createConnect({ ...deps, sessions, hooks, localHooks, forwarder, push: (session) => pushProject(session), attach }));
  return {
    connect: async (options) => (await pipeline()).connect(options),
    connectAndAttach: async (options, tty, ready) => (await pipeline()).connectAndAttach(options, tty, ready),
    ports: forwarder,
    open: sessions.open,
    withSession: sessions.withSession,
    locate: sessions.locate,
    requireContainer: sessions.requireContainer,
    containerHost: sessions.containerHost,
    ...projectCommands,
    pushImage: (target, reference) =>
      sessions.withSession(target, async (session) => {
        if (!session.place.host.imagesTravel) {
          throw new UserError('USAGE', 'image push needs a remote host; the local engine has the image already', 'name a host: mltoolbox image push HOST IMAGE');
        }
        session.place.warmUp(); // the host's engine (client, socket forward) gets ready while this machine's is asked
        const { sendImage } = await import('./image.ts');
        const result = await sendImage(deps, session.place, reference);
        if (!result) {
          throw new UserError('IMAGE_NOT_FOUND', `image ${reference} is not on this machine's Docker Engine, so it cannot be sent`,
            `build or pull it here first (docker images lists what is here), then: mltoolbox image push ${session.place.name} ${reference}`);
        }
        return { target: session.place.name, ...result };
      }),
  };
}
