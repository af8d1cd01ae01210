import { UserError } from '../../core/errors.ts';
import type { StateStore } from '../../db/index.ts';
import type { ClusterInfo } from '../../plugin-api/index.ts';
import type { FeaturesService } from '../../services/features/index.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import type { ContainerInfo } from '../../services/containers/types.ts';
import { createContainerHost, type Host } from '../../services/host/index.ts';
import { resolveTarget } from '../../services/ssh/target.ts';
import type { SshService } from '../../services/ssh/types.ts';
import type { RemoteShell, SyncManager, SyncStrategy } from '../../services/sync/types.ts';
import type { ConnectionHooks } from '../plugins/connection-hooks.ts';
import type { PluginHostService } from '../plugins/plugin-host.ts';
import { resolveEngineSocket } from '../../services/containers/engine-socket.ts';
import type { OfflineDefaultImage } from './image.ts';
import { openInstancePlace, openLocalPlace, openRemotePlace, type Place, type PlaceDeps } from './place.ts';
import { resolvePluginSecretRefs } from './plugin-secrets.ts';
import { containerName, defaultRemoteDir, projectIdentity, type ProjectIdentity, type TargetRole } from './project-identity.ts';

/**
 * Project sessions: how a command finds the project's place (its target,
 * Host and engine) and its container, and closes what it opened. Everything
 * the project commands and connect share; nothing here knows a command.
 */
export interface ConnectionDeps extends PlaceDeps {
  projectDir: string;
  /** A private folder for the per project+target connect locks. */
  lockDir: string;
  env: NodeJS.ProcessEnv;
  /** 'redact' leaves ${secret:…} unresolved: only creating a container needs secret values. */
  loadConfig(mode: 'resolve' | 'redact'): Promise<LoadedConfig>;
  state(): Promise<StateStore>;
  ssh(): Promise<SshService>;
  /** The SyncManager of sync.strategy. */
  sync(strategy: SyncStrategy): Promise<SyncManager>;
  /** The plugin host; without it no hooks run. */
  plugins?(): Promise<PluginHostService>;
  /** Reads one secret, for `${secret:…}` references that plugins add. */
  getSecret?(name: string): Promise<string | undefined>;
  /** The CLI command running, for plugins' shutdown hook. */
  command?: string;
  /** Dev Container Features (fetch on this machine, build on the target's engine). */
  features?(): Promise<FeaturesService>;
  /**
   * The offline default image (`mltoolbox image bootstrap` with its defaults) on
   * this engine, built when missing: used only when nobody configured an image
   * and the default one cannot be pulled.
   */
  offlineDefaultImage?: OfflineDefaultImage;
  /** mltoolbox's config folder: the generated ssh_config and the editors' entries live there. */
  configDir?: string;
}

/** Everything a command needs once the project's place is open. */
export interface ProjectSession {
  place: Place;
  loaded: LoadedConfig;
  identity: ProjectIdentity;
  projectId: number;
  state: StateStore;
  /** The project's folder on the engine's host (absolute). */
  workspaceSource: string;
  /** workspaceSource when the engine's host is another machine (what results report as remoteDir). */
  remoteDir?: string;
  remoteShell?: RemoteShell;
  /** Set by connect: the first target is the head, further ones are workers. */
  role?: TargetRole;
  /** Set by a connect with workers, for every target's hooks. */
  cluster?: ClusterInfo;
}

/** secrets: resolve ${secret:…} (only creating a container needs the values). */
export interface OpenOptions {
  secrets?: boolean;
  /** Runs once the config is loaded and the target named, before any host is reached (initialize_command). */
  beforeConnect?: (loaded: LoadedConfig, target: string) => Promise<void>;
}

/** Opening and finding: what every project command starts with. */
export interface Sessions {
  /** Opens the project's place: loads config, records the project, reaches the engine. */
  open(target: string | undefined, options?: OpenOptions): Promise<ProjectSession>;
  /** Runs work with the project's session; then plugins' shutdown hook, and the session closes. */
  withSession<T>(target: string | undefined, work: (session: ProjectSession) => Promise<T>, options?: OpenOptions): Promise<T>;
  /** Runs work with a session of its own, without plugins' shutdown (a worker of connect). */
  inSession<T>(target: string, work: (session: ProjectSession) => Promise<T>, options?: OpenOptions): Promise<T>;
  /**
   * The project's container on its place, running or not: the recorded one,
   * else the one with the project's name and label (recorded again).
   */
  projectContainer(session: ProjectSession): Promise<ContainerInfo | undefined>;
  /** The project's running container on its place, or a NOT_CONNECTED / CONTAINER_NOT_RUNNING error saying what to run. */
  requireContainer(session: ProjectSession): Promise<string>;
  /** The project's container if it runs, else undefined (no error). */
  runningContainer(session: ProjectSession): Promise<{ id: string; name: string } | undefined>;
  /** The project's running dev container (or the container `id` connect just started) as a Host (exec, files, ports). */
  containerHost(session: ProjectSession, id?: string): Promise<Host>;
  /** Where a project command would go and what the state knows of it there — config and state only, no connection (status via the relay). */
  locate(target: string | undefined): Promise<{ name: string; identity: ProjectIdentity; containerId?: string; remoteDir?: string; lastSync: { at: string; summary: unknown } | null }>;
}

export function createSessions(deps: ConnectionDeps, pluginHooks: ConnectionHooks): Sessions {
  async function resolveTargetName(state: StateStore, loaded: LoadedConfig, explicit: string | undefined): Promise<string> {
    if (explicit) return explicit;
    const project = state.getProjectByPath(deps.projectDir);
    if (project?.lastRemote) return project.lastRemote;
    return loaded.config.remote?.host ?? 'local';
  }

  /**
   * A remote place. A provisioned instance has its host key pinned under its
   * own name; one that IS the container (a RunPod pod) gets the instance
   * place: the same pipeline, no Docker engine.
   */
  async function openHostPlace(state: StateStore, loaded: LoadedConfig, name: string, project: string): Promise<Place> {
    const instance = state.getInstance(name);
    const resolved = resolveTarget(name, loaded.config.remote, state.getRemote(name));
    const target = instance?.hostKeyAlias && instance.knownHostsFile
      ? { ...resolved, hostKey: { alias: instance.hostKeyAlias, knownHostsFile: instance.knownHostsFile } }
      : resolved;
    const image = loaded.config.environment?.base_image;
    const ssh = await deps.ssh();
    if (instance?.shape === 'container' && image) {
      const { podProjectDir } = await import('../../services/features/in-place.ts'); // pods only: features stay out of other commands' start-up
      return openInstancePlace(deps, name, ssh, target, image, podProjectDir(project));
    }
    // The engine socket environment.engine / remote.docker_socket name on that host.
    const engineSocket = await resolveEngineSocket(
      { engine: loaded.config.environment.engine, ...(loaded.config.remote?.docker_socket ? { socket: loaded.config.remote.docker_socket } : {}), where: name },
      async (script) => (await ssh.execScript(target, script)).stdout,
    );
    return openRemotePlace(deps, name, ssh, target, engineSocket);
  }

  /** Opens the project's place: loads config, records the project, reaches the engine. */
  async function open(targetText: string | undefined, options: OpenOptions = {}): Promise<ProjectSession> {
    // The state database and (for a named host) the SSH code load while the configuration does; a config error still comes first.
    const opening = deps.state();
    opening.catch(() => {});
    if (targetText && targetText !== 'local') deps.ssh().catch(() => {});
    // Secrets are read (keychain unlocked, passphrase asked) only by commands that create containers.
    const adjusted = await pluginHooks.configLoaded(await deps.loadConfig(options.secrets ? 'resolve' : 'redact'));
    const loaded = options.secrets && deps.getSecret ? await resolvePluginSecretRefs(adjusted, deps.getSecret) : adjusted;
    const state = await opening;
    const identity = projectIdentity(deps.projectDir, loaded.config.project.name);
    const project = state.upsertProject({ localPath: deps.projectDir, name: identity.name });
    const name = await resolveTargetName(state, loaded, targetText);
    await options.beforeConnect?.(loaded, name);
    const place = name === 'local' ? await openLocalPlace(deps, loaded.config.environment.engine) : await openHostPlace(state, loaded, name, identity.slug);
    try {
      // The project's folder on the engine's host: here, the one recorded for the host, or one under its home.
      const known = state.getProjectRemote(project.id, name)?.remoteDir;
      const folder = await place.host.projectFolder(deps.projectDir, { ...(known ? { recorded: known } : {}), relative: defaultRemoteDir(identity) });
      return {
        place, loaded, identity, projectId: project.id, state, workspaceSource: folder.path,
        ...(folder.synced ? { remoteDir: folder.path } : {}),
        ...(place.host.rsync ? { remoteShell: place.host.rsync } : {}),
      };
    } catch (error) {
      await place.close();
      throw error;
    }
  }

  /** Runs work with a session of its own, without plugins' shutdown (a worker of connect). */
  async function inSession<T>(target: string, work: (session: ProjectSession) => Promise<T>, openOptions: OpenOptions = {}): Promise<T> {
    const session = await open(target, openOptions);
    try {
      return await work(session);
    } finally {
      await session.place.close();
    }
  }

  /** Runs work with the project's session; then plugins' shutdown hook, and the session closes. */
  async function withSession<T>(target: string | undefined, work: (session: ProjectSession) => Promise<T>, openOptions: OpenOptions = {}): Promise<T> {
    const session = await open(target, openOptions);
    let failure: unknown;
    try {
      return await work(session);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      await pluginHooks.shutdown(session, failure);
      await session.place.close();
    }
  }

  /**
   * The project's container on the session's place: the recorded one, else the
   * one carrying the project's name and label (a connect interrupted between
   * creating it and recording it). A found one is recorded again, so state and
   * engine agree; a recorded one that is gone stays recorded until `down`.
   */
  async function projectContainer(session: ProjectSession): Promise<ContainerInfo | undefined> {
    const { state, place, projectId } = session;
    const record = state.getContainer(projectId, place.name);
    const recorded = record ? await place.containers.inspect(record.containerId) : undefined;
    if (recorded) return recorded;
    const byName = await place.containers.inspect(containerName(session.identity));
    const ours = byName && byName.project === session.identity.slug ? byName : undefined;
    if (ours) {
      state.upsertContainer({ projectId, remote: place.name, containerId: ours.id, name: ours.name, image: ours.image, configHash: ours.configHash ?? '', status: ours.running ? 'running' : 'stopped' });
    }
    return ours;
  }

  /** The project's running container on its place, or a NOT_CONNECTED error saying what to run. */
  async function requireContainer(session: ProjectSession): Promise<string> {
    const info = await projectContainer(session);
    if (!info) {
      throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `start it with: mltoolbox connect ${session.place.name} --no-attach`);
    }
    if (!info.running) {
      throw new UserError('CONTAINER_NOT_RUNNING', `the dev container ${info.name} on ${session.place.name} is ${info.state}`, `start it again with: mltoolbox connect ${session.place.name} --no-attach`);
    }
    return info.id;
  }

  /** The project's container on the session's place if it runs, else undefined (no error: a hook just gets no container). */
  async function runningContainer(session: ProjectSession): Promise<{ id: string; name: string } | undefined> {
    const info = await projectContainer(session);
    return info?.running ? { id: info.id, name: info.name } : undefined;
  }

  /** The project's running dev container as a Host (exec, files, ports), or NOT_CONNECTED. */
  async function containerHost(session: ProjectSession, known?: string): Promise<Host> {
    const id = known ?? await requireContainer(session);
    return createContainerHost({
      containers: session.place.containers, id, name: `the dev container on ${session.place.name}`,
      engineHost: session.place.host, workdir: session.loaded.config.project.workdir,
      ...(session.place.engineSocket ? { engineSocket: session.place.engineSocket } : {}),
    });
  }

  async function locate(target: string | undefined) {
    const opening = deps.state();
    opening.catch(() => {});
    const loaded = await deps.loadConfig('redact');
    const state = await opening;
    const name = await resolveTargetName(state, loaded, target);
    const identity = projectIdentity(deps.projectDir, loaded.config.project?.name ?? 'project');
    const project = state.getProjectByPath(deps.projectDir);
    const record = project ? state.getContainer(project.id, name) : undefined;
    const projectRemote = project ? state.getProjectRemote(project.id, name) : undefined;
    return {
      name, identity,
      ...(record ? { containerId: record.containerId } : {}),
      ...(projectRemote?.remoteDir ? { remoteDir: projectRemote.remoteDir } : {}),
      lastSync: projectRemote?.lastSyncAt ? { at: projectRemote.lastSyncAt, summary: projectRemote.lastSyncSummary as unknown } : null,
    };
  }

  return { open, withSession, inSession, projectContainer, requireContainer, runningContainer, containerHost, locate };
}

/** Commands that move files need a host other than this machine. */
export function requireRemote(session: ProjectSession, what: string): asserts session is ProjectSession & { remoteShell: RemoteShell } {
  if (!session.remoteShell) {
    throw new UserError('USAGE', `${what} needs a remote host; the local target uses your project folder directly`, `name a host: mltoolbox ${what} HOST`);
  }
}
