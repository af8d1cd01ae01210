import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { lazy } from '../../core/lazy.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ContainerManager } from '../../services/containers/types.ts';
import { holderDir } from '../../services/host/forward-holder.ts';
import { createLocalHost, createSshHost, type Host } from '../../services/host/index.ts';
import type { SshTarget } from '../../services/ssh/target.ts';
import type { Forward, SshService } from '../../services/ssh/types.ts';

/**
 * Where the dev container lives: a Host (this machine, or one reached through
 * the shared SSH connection — see services/host) and the container engine on
 * it. A remote engine's unix socket is forwarded to a private local socket, so
 * every Docker API call rides the one multiplexed connection instead of an
 * `ssh docker …` round trip each.
 */
export interface Place {
  /** The name state is kept under: `local`, a saved alias, or the target as typed. */
  name: string;
  /** The machine the engine runs on: exec, files, ports, its address. */
  host: Host;
  /** The engine's socket on that machine (remote.docker_socket or environment.engine's; locally DOCKER_HOST's); none where the instance is the container. */
  engineSocket?: string;
  containers: ContainerManager;
  /** Starts setting up the engine now (loading the Docker client, forwarding its socket) without waiting. */
  warmUp(): void;
  /** Ends what this run opened (the socket forward); the SSH master stays for the next run. */
  close(): Promise<void>;
}

export interface PlaceDeps {
  reporter: Reporter;
  env: NodeJS.ProcessEnv;
  toolVersion: string;
  /** A private (0700) folder for forwarded sockets. */
  socketDir: string;
  /** The local engine's socket (DOCKER_HOST=unix://… or the default). */
  localDockerSocket: string;
  createContainers(options: { socketPath: string; host?: string; hostSocket?: string }): Promise<ContainerManager>;
}

export const REMOTE_DOCKER_SOCKET = '/var/run/docker.sock';

export async function openLocalPlace(deps: PlaceDeps): Promise<Place> {
  const containers = await deps.createContainers({ socketPath: deps.localDockerSocket });
  return { name: 'local', host: createLocalHost({ env: deps.env }), engineSocket: deps.localDockerSocket, containers, warmUp: () => {}, close: async () => {} };
}

/** `engineSocket`: the engine's socket on the host (remote.docker_socket or environment.engine's), default REMOTE_DOCKER_SOCKET. */
export async function openRemotePlace(deps: PlaceDeps, name: string, ssh: SshService, target: SshTarget, engineSocket = REMOTE_DOCKER_SOCKET): Promise<Place> {
  let forward: Forward | undefined;
  let closed = false;
  // The engine (dockerode + a forwarded socket) is set up on first use, or on
  // warmUp(): sync and fetch never pay for it.
  const engine = lazy(async () => {
    const socket = join(deps.socketDir, `d-${randomBytes(4).toString('hex')}.sock`); // unique: parallel commands never share one
    const [containers] = await Promise.all([
      deps.createContainers({ socketPath: socket, host: name, hostSocket: engineSocket }),
      mkdir(deps.socketDir, { recursive: true, mode: 0o700 }),
      connected,
    ]);
    const opened = await ssh.forward(target, { local: { socket }, remote: { socket: engineSocket } });
    if (closed) await opened.close().catch(() => {});
    else forward = opened;
    return containers;
  });
  const connected = deps.reporter.task(`Connecting to ${name}`, () => ssh.connect(target));
  await connected;
  return {
    name,
    // Detached forwards keep their control sockets beside the state folder's sockets.
    host: createSshHost({ name, ssh, target, env: deps.env, holderDir: () => holderDir(deps.env, dirname(deps.socketDir)) }),
    engineSocket,
    containers: lazyContainerManager(engine),
    warmUp: () => void engine().catch(() => {}), // a failure surfaces at first use, with its own message
    async close() {
      closed = true;
      await forward?.close().catch(() => {});
      forward = undefined;
    },
  };
}

/** A provisioned instance that is itself the container (its image given at launch): the same pipeline, no engine. */
export async function openInstancePlace(deps: PlaceDeps, name: string, ssh: SshService, target: SshTarget, image: string): Promise<Place> {
  const { createInstanceContainerManager } = await import('../../services/containers/instance-container.ts');
  await deps.reporter.task(`Connecting to ${name}`, () => ssh.connect(target));
  return {
    name,
    host: createSshHost({ name, ssh, target, env: deps.env, holderDir: () => holderDir(deps.env, dirname(deps.socketDir)) }),
    containers: createInstanceContainerManager({ ssh, target, name, image }),
    warmUp: () => {},
    close: async () => {},
  };
}

/** A ContainerManager whose every call first waits for the real one (all its methods are async). */
function lazyContainerManager(ready: () => Promise<ContainerManager>): ContainerManager {
  return new Proxy({} as ContainerManager, {
    get: (_target, method: string | symbol) =>
      method === 'then' ? undefined : async (...args: unknown[]) => {
        const manager = (await ready()) as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
        return manager[method]!.apply(manager, args);
      },
  });
}

/** `unix:///run/docker.sock` -> `/run/docker.sock`; anything else: the default socket. */
export function localDockerSocket(env: NodeJS.ProcessEnv): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return REMOTE_DOCKER_SOCKET;
}
