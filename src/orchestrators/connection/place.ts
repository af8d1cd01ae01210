import { uniqueHex } from '../../core/digest.ts';
import { rmSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { lazy } from '../../core/lazy.ts';
import type { Reporter } from '../../core/reporter.ts';
import { processAlive } from '../../infrastructure/file-lock.ts';
import { resolveEngineSocket, type EngineKind } from '../../services/containers/engine-socket.ts';
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
  /**
   * The engine's interactive command line for a host's engine socket, built
   * without the engine's client or a socket forward: `exec` and `shell` into a
   * running container pay for neither. Unset: asked of the full manager.
   */
  interactiveCommand?(hostSocket: string): ContainerManager['interactiveCommand'];
}

export const REMOTE_DOCKER_SOCKET = '/var/run/docker.sock';

/** This machine's engine: `engine` (environment.engine) picks the socket as on a host, unless DOCKER_HOST names it. */
export async function openLocalPlace(deps: PlaceDeps, engine: EngineKind = 'docker'): Promise<Place> {
  const host = createLocalHost({ env: deps.env });
  const socket = await localEngineSocket(engine, deps.env, async (script) => (await host.execScript(script)).stdout);
  const containers = await deps.createContainers({ socketPath: socket ?? deps.localDockerSocket, ...(socket ? { hostSocket: socket } : {}) });
  return { name: 'local', host, engineSocket: socket ?? deps.localDockerSocket, containers, warmUp: () => {}, close: async () => {} };
}

/**
 * The local engine's socket for environment.engine podman or auto (the same probe as on a host: Podman's rootful
 * or rootless socket, or the first that exists); undefined for docker, or when DOCKER_HOST says where the engine is.
 */
export async function localEngineSocket(engine: EngineKind, env: NodeJS.ProcessEnv, probe: (script: string) => Promise<string>): Promise<string | undefined> {
  if (engine === 'docker' || env.DOCKER_HOST) return undefined;
  return resolveEngineSocket({ engine, where: 'this machine' }, probe);
}

/** `engineSocket`: the engine's socket on the host (remote.docker_socket or environment.engine's), default REMOTE_DOCKER_SOCKET. */
export async function openRemotePlace(deps: PlaceDeps, name: string, ssh: SshService, target: SshTarget, engineSocket = REMOTE_DOCKER_SOCKET): Promise<Place> {
  let forward: Forward | undefined;
  let closed = false;
  // The engine (dockerode + a forwarded socket) is set up on first use, or on
  // warmUp(): sync and fetch never pay for it.
  // Unique per run (parallel commands never share one); the pid lets a later run remove it if this one dies.
  const socket = join(deps.socketDir, `d-${process.pid}-${uniqueHex(4)}.sock`);
  const removeSocket = () => rmSync(socket, { force: true });
  const engine = lazy(async () => {
    const [containers] = await Promise.all([
      deps.createContainers({ socketPath: socket, host: name, hostSocket: engineSocket }),
      mkdir(deps.socketDir, { recursive: true, mode: 0o700 }).then(() => removeStaleSockets(deps.socketDir)),
      connected,
    ]);
    process.once('exit', removeSocket); // Ctrl-C: ssh -O cancel cannot run, the file still goes
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
    containers: lazyContainerManager(engine, deps.interactiveCommand ? { interactiveCommand: deps.interactiveCommand(engineSocket) } : {}, async (error) => {
      // The engine's socket rides the shared ssh connection: when that is gone, say so (not "Docker is down").
      if (!(error instanceof UserError) || error.code !== 'DOCKER_UNREACHABLE') return error;
      if (await ssh.check(target).catch(() => false)) return error;
      return new UserError('SSH_CONNECTION_LOST', `the ssh connection to ${name} was lost (the host stopped answering, or the connection was closed): ${error.message}`,
        `check the host answers (ssh ${name} true), then run the command again; an image build resumes from its cached steps`, { cause: error, data: { host: name } });
    }),
    warmUp: () => void engine().catch(() => {}), // a failure surfaces at first use, with its own message
    async close() {
      closed = true;
      await forward?.close().catch(() => {});
      forward = undefined;
      // ssh -O cancel stops listening but leaves the socket file behind.
      removeSocket();
      process.off('exit', removeSocket);
    },
  };
}

/** A provisioned instance that is itself the container (its image given at launch): the same pipeline, no engine. */
export async function openInstancePlace(deps: PlaceDeps, name: string, ssh: SshService, target: SshTarget, image: string, featuresDir?: string): Promise<Place> {
  const { createInstanceContainerManager } = await import('../../services/containers/instance-container.ts');
  await deps.reporter.task(`Connecting to ${name}`, () => ssh.connect(target));
  return {
    name,
    host: createSshHost({ name, ssh, target, env: deps.env, holderDir: () => holderDir(deps.env, dirname(deps.socketDir)) }),
    containers: createInstanceContainerManager({ ssh, target, name, image, ...(featuresDir ? { featuresDir } : {}) }),
    warmUp: () => {},
    close: async () => {},
  };
}

/**
 * Forwarded-socket files of runs that are gone (killed before their close()).
 * Names without a pid come from older versions: removed when nothing listens.
 */
async function removeStaleSockets(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map(async (name) => {
    const match = /^d-(?:(\d+)-)?[0-9a-f]{8}\.sock$/.exec(name);
    if (!match) return;
    const path = join(dir, name);
    const stale = match[1] !== undefined ? !processAlive(Number(match[1])) : !(await listening(path));
    if (stale) await rm(path, { force: true });
  }));
}

function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A ContainerManager whose every call first waits for the real one (all its methods are async). */
function lazyContainerManager(ready: () => Promise<ContainerManager>, direct: Partial<ContainerManager> = {}, explain: (error: unknown) => Promise<unknown> = async (e) => e): ContainerManager {
  return new Proxy({} as ContainerManager, {
    get: (_target, method: string | symbol) =>
      method === 'then' ? undefined : typeof method === 'string' && Object.hasOwn(direct, method) ? direct[method as keyof ContainerManager] : async (...args: unknown[]) => {
        try {
          const manager = (await ready()) as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
          return await manager[method]!.apply(manager, args);
        } catch (error) {
          throw await explain(error);
        }
      },
  });
}

/** `unix:///run/docker.sock` -> `/run/docker.sock`; anything else: the default socket. */
export function localDockerSocket(env: NodeJS.ProcessEnv): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return REMOTE_DOCKER_SOCKET;
}
