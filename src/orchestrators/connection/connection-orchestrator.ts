import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { joinShellCommand } from '../../core/shell-quote.ts';
import { isCommandNotFound, runInteractive } from '../../infrastructure/process.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { StateStore } from '../../db/index.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import type { ContainerManager, EnsureResult } from '../../services/containers/types.ts';
import { parsePortSpec } from '../../services/ports/port-spec.ts';
import type { SshTarget } from '../../services/ssh/target.ts';
import type { SshService } from '../../services/ssh/types.ts';
import { rulesFromConfig } from '../../services/sync/config-rules.ts';
import { DEFAULT_DEBOUNCE_MS } from '../../services/sync/watch.ts';
import type { RemoteShell, SyncManager, SyncProgress, SyncSummary, WatchEvent } from '../../services/sync/types.ts';
import { planContainer, type ContainerPlan } from './container-plan.ts';
import { createConnectionHooks } from '../plugins/connection-hooks.ts';
import { resolvePluginSecretRefs } from './plugin-secrets.ts';
import type { PluginHostService } from '../plugins/plugin-host.ts';
import type { ClusterInfo } from '../../plugin-api/index.ts';
import { createPortForwarder } from './forwards.ts';
import { localGpuStatus, remoteGpuStatus } from './gpu-status.ts';
import { copiedFilesFingerprint } from './build-inputs.ts';
import { openLocalPlace, openRemotePlace, type Place, type PlaceDeps } from './place.ts';
import { applyFeatures, configuredFeatures, featureLifecycle, prepareFeatures, withFeatureContributions, type FeatureStepResult } from '../features/features-step.ts';
import type { FeaturesService } from '../../services/features/index.ts';
import { containerName, defaultRemoteDir, projectIdentity, type ProjectIdentity, type TargetRole } from './project-identity.ts';

export interface ConnectionDeps extends PlaceDeps {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  /** 'redact' leaves ${secret:…} unresolved: only creating a container needs secret values. */
  loadConfig(mode: 'resolve' | 'redact'): Promise<LoadedConfig>;
  state(): Promise<StateStore>;
  ssh(): Promise<SshService>;
  sync(): Promise<SyncManager>;
  /** Parses `[user@]host[:port]` with the config's remote.* defaults. */
  parseTarget(text: string, config: LoadedConfig['config']): SshTarget;
  /** The plugin host; without it no hooks run. */
  plugins?(): Promise<PluginHostService>;
  /** Reads one secret, for `${secret:…}` references that plugins add. */
  getSecret?(name: string): Promise<string | undefined>;
  /** The CLI command running, for plugins' shutdown hook. */
  command?: string;
  /** Dev Container Features (fetch on this machine, build on the target's engine). */
  features?(): Promise<FeaturesService>;
}

export interface ConnectOptions {
  target?: string;
  /** Further targets that get the same pipeline as workers of the first (default: ray.workers when Ray is enabled). */
  workers?: readonly string[];
  skipSync?: boolean;
  /** Forwards outlive this command (a background ssh per port) instead of ending with its shell. */
  detach?: boolean;
  forceRebuild?: boolean;
  /** `-p` values as typed: `8888`, `9000:8888`. */
  ports?: readonly string[];
}

export interface ForwardView {
  local: number;
  container: number;
}

export interface ConnectResult {
  target: string;
  project: string;
  remoteDir?: string;
  image: string;
  imageAction: 'used' | 'pulled' | 'built' | 'reused-build';
  container: { id: string; name: string; action: EnsureResult['action']; reason?: string };
  sync?: SyncSummary;
  forwards: ForwardView[];
  warnings: string[];
  workdir: string;
  role: TargetRole;
  /** Each worker target's result, in order, when connect had workers. */
  workers?: ConnectResult[];
  /** Dev Container Features installed in the image, in installation order. */
  features?: FeatureStepResult['installed'];
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
  remoteShell?: RemoteShell;
  /** Set by connect: the first target is the head, further ones are workers. */
  role?: TargetRole;
  /** Set by a connect with workers, for every target's hooks. */
  cluster?: ClusterInfo;
}

/** `ray.workers[].target` when Ray is enabled: the hosts that join the head. */
export function configuredWorkers(config: LoadedConfig['config']): string[] {
  const ray = (config as { ray?: { enabled?: boolean; workers?: readonly { target?: unknown }[] } }).ray;
  if (ray?.enabled !== true) return [];
  return (ray.workers ?? []).map((w) => w.target).filter((t): t is string => typeof t === 'string' && t !== '');
}

/** The worker targets of a connect: the command line's, else the config's; never the head itself, never twice. */
export function workerTargets(head: string, fromCommandLine: readonly string[] | undefined, config: LoadedConfig['config']): string[] {
  const wanted = fromCommandLine && fromCommandLine.length > 0 ? fromCommandLine : configuredWorkers(config);
  return [...new Set(wanted)].filter((name) => name !== head);
}

/** bash when the image has it, else sh: busybox and slim images have no bash. */
const LOGIN_SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi';

/** secrets: resolve ${secret:…} (only creating a container needs the values). */
interface OpenOptions {
  secrets?: boolean;
}

const progressText = (p: SyncProgress) => `${p.percent}% · ${p.files} files · ${p.rate}`;

/**
 * connect: ssh → remote folder → sync → image → container → ports, each step
 * skipped when already satisfied, each failure naming its step. Also the
 * other project commands (sync, fetch, exec, shell, logs, status, stop, down),
 * which share how a project's place and container are found.
 */
export function createConnectionOrchestrator(deps: ConnectionDeps) {
  const { reporter } = deps;
  const pluginHooks = createConnectionHooks(deps.plugins ? () => deps.plugins!() : undefined, { projectDir: deps.projectDir, command: deps.command ?? 'command' });
  const forwarder = createPortForwarder({ ...deps, withSession });

  async function resolveTargetName(state: StateStore, loaded: LoadedConfig, explicit: string | undefined): Promise<string> {
    if (explicit) return explicit;
    const project = state.getProjectByPath(deps.projectDir);
    if (project?.lastRemote) return project.lastRemote;
    return loaded.config.remote?.host ?? 'local';
  }

  function sshTargetFor(state: StateStore, loaded: LoadedConfig, name: string): SshTarget {
    const saved = state.getRemote(name);
    if (saved) {
      return {
        ...deps.parseTarget(saved.host, loaded.config),
        ...(saved.user ? { user: saved.user } : {}),
        ...(saved.port ? { port: saved.port } : {}),
        ...(saved.identityFile ? { identityFile: saved.identityFile } : {}),
      };
    }
    return deps.parseTarget(name, loaded.config);
  }

  /** Opens the project's place: loads config, records the project, reaches the engine. */
  async function open(targetText: string | undefined, options: OpenOptions = {}): Promise<ProjectSession> {
    // Secrets are read (keychain unlocked, passphrase asked) only by commands that create containers.
    const adjusted = await pluginHooks.configLoaded(await deps.loadConfig(options.secrets ? 'resolve' : 'redact'));
    const loaded = options.secrets && deps.getSecret ? await resolvePluginSecretRefs(adjusted, deps.getSecret) : adjusted;
    const state = await deps.state();
    const identity = projectIdentity(deps.projectDir, loaded.config.project?.name ?? 'project');
    const project = state.upsertProject({ localPath: deps.projectDir, name: identity.name });
    const name = await resolveTargetName(state, loaded, targetText);
    if (name === 'local') {
      const place = await openLocalPlace(deps);
      return { place, loaded, identity, projectId: project.id, state, workspaceSource: deps.projectDir };
    }
    const ssh = await deps.ssh();
    const target = sshTargetFor(state, loaded, name);
    const place = await openRemotePlace(deps, name, ssh, target);
    try {
      const known = state.getProjectRemote(project.id, name)?.remoteDir;
      const workspaceSource = known?.startsWith('/') ? known : await remoteHomeDir(ssh, target, defaultRemoteDir(identity));
      return {
        place, loaded, identity, projectId: project.id, state, workspaceSource,
        remoteShell: { rsh: ssh.rsyncShell(target), destination: ssh.rsyncRemote(target, '').replace(/:$/, '') },
      };
    } catch (error) {
      await place.close();
      throw error;
    }
  }

  async function remoteHomeDir(ssh: SshService, target: SshTarget, relative: string): Promise<string> {
    const { stdout } = await ssh.execScript(target, 'printf "%s\\n" "$HOME"');
    const home = stdout.trim().split('\n').pop() ?? '';
    if (!home.startsWith('/')) {
      throw new UserError('REMOTE_COMMAND_FAILED', 'could not read the home folder on the host', 'check that the remote user has a home folder: ssh HOST \'echo $HOME\'');
    }
    return `${home.replace(/\/$/, '')}/${relative}`;
  }

  async function pushProject(session: ProjectSession, options: { dryRun?: boolean } = {}): Promise<SyncSummary> {
    await pluginHooks.beforeSync(session, options.dryRun ?? false);
    const sync = await deps.sync();
    const summary = await reporter.task(options.dryRun ? 'Checking what would sync' : `Syncing to ${session.place.name}:${session.workspaceSource}`, (task) =>
      sync.push({
        remote: session.remoteShell!,
        localDir: deps.projectDir,
        remoteDir: session.workspaceSource,
        rules: rulesFromConfig(session.loaded.config.sync),
        ...(options.dryRun ? { dryRun: true } : {}),
        onProgress: (p) => task.update(progressText(p)),
      }),
    );
    if (!options.dryRun) {
      session.state.recordSync({
        projectId: session.projectId,
        remote: session.place.name,
        remoteDir: session.workspaceSource,
        summary: { files: summary.filesTransferred, bytes: summary.bytes, deleted: summary.deleted, durationMs: summary.durationMs },
      });
    }
    await pluginHooks.afterSync(session, options.dryRun ?? false, summary);
    return summary;
  }

  async function ensureImage(containers: ContainerManager, plan: ContainerPlan, force: boolean): Promise<{ image: string; action: ConnectResult['imageAction'] }> {
    if (plan.image.kind === 'image') {
      const reference = plan.image.reference;
      if (await containers.imageId(reference)) return { image: reference, action: 'used' };
      if (deps.env.MLTOOLBOX_NO_PULL) {
        // Offline machines and the test suite: never reach for a registry.
        throw new UserError('IMAGE_NOT_FOUND', `the image ${reference} is not on the Docker host and pulling is off (MLTOOLBOX_NO_PULL is set)`,
          `load it there first (docker load / docker pull ${reference}), or unset MLTOOLBOX_NO_PULL`);
      }
      // First use of a base image on this host: pull it once (later connects find it).
      await reporter.task(`Pulling ${reference}`, (task) => containers.pull(reference, (line) => task.update(line.slice(0, 60))));
      return { image: reference, action: 'pulled' };
    }
    const { build, fingerprint } = plan.image;
    const dockerfileText = await readFile(build.dockerfile ?? join(build.context, 'Dockerfile')).catch(() => undefined);
    if (dockerfileText === undefined) {
      throw new UserError('CONFIG_INVALID', `the Dockerfile ${build.dockerfile} does not exist`, 'fix environment.dockerfile.path in mltoolbox.yaml (relative to the project folder)');
    }
    const tag = build.tag.replace(/:pending$/, `:${createHash('sha256').update(fingerprint).update(dockerfileText).update(await copiedFilesFingerprint(dockerfileText.toString('utf8'), build.context)).digest('hex').slice(0, 12)}`);
    if (!force && (await containers.imageId(tag))) return { image: tag, action: 'reused-build' };
    await reporter.task(`Building image ${tag}`, (task) => containers.build({ ...build, tag }, (line) => task.update(line.slice(0, 60))));
    return { image: tag, action: 'built' };
  }

  /** Runs a lifecycle hook: the features' commands first (installation order), then the user's. */
  async function runLifecycle(session: ProjectSession, id: string, key: 'on_create_command' | 'post_create_command' | 'post_start_command', featured?: FeatureStepResult): Promise<void> {
    const command = session.loaded.config.environment[key];
    const flatten = (c: NonNullable<typeof command>) => (typeof c === 'string' || Array.isArray(c) ? [c] : Object.values(c)).map((one) => ({ command: one }));
    const commands: { command: string | string[]; feature?: string }[] = [
      ...featureLifecycle(featured, key, 'before'), ...(command === undefined ? [] : flatten(command)), ...featureLifecycle(featured, key, 'after'),
    ];
    for (const { command: one, feature } of commands) {
      const argv = typeof one === 'string' ? ['sh', '-c', one] : one;
      const result = await reporter.task(`Running ${key}${feature ? ` of feature ${feature}` : ''}`, () => session.place.containers.exec(id, argv, { workdir: session.loaded.config.project?.workdir ?? '/workspace' }));
      if (result.exitCode !== 0) {
        throw new UserError('REMOTE_COMMAND_FAILED', `${key}${feature ? ` of feature ${feature}` : ''} failed with exit code ${result.exitCode}`,
          `${feature ? 'the feature\'s command failed in this container: check the feature supports the image, or report it to its author' : 'fix the command in your configuration'}, then run 'mltoolbox connect' again. Its output:\n${(result.stderr || result.stdout).trim().split('\n').slice(-10).join('\n')}`,
          { data: { exitCode: result.exitCode, step: key, ...(feature ? { feature } : {}) } });
      }
    }
  }

  /**
   * connect: the first target is the head; each worker target then gets the
   * same pipeline in its own session, with the cluster in every hook's context.
   * Plugins' shutdown runs once, at the end, with the head's session.
   */
  function connect(options: ConnectOptions): Promise<ConnectResult> {
    return withSession(options.target, async (head) => {
      const workers = workerTargets(head.place.name, options.workers, head.loaded.config);
      head.role = 'head';
      if (workers.length === 0) return connectOne(head, options);
      const cluster: ClusterInfo = { head: { target: head.place.name, address: await headAddress(head) }, workers };
      head.cluster = cluster;
      const result = await connectOne(head, options);
      const joined: ConnectResult[] = [];
      for (const name of workers) {
        joined.push(await inSession(name, (worker) => {
          worker.role = 'worker';
          worker.cluster = cluster;
          return connectOne(worker, options);
        }, { secrets: true }));
      }
      return { ...result, workers: joined };
    }, { secrets: true });
  }

  /** How other hosts reach the head: ssh's HostName for it (an alias is no address elsewhere). */
  async function headAddress(session: ProjectSession): Promise<string> {
    if (!session.place.remote) return hostname();
    return (await session.place.remote.ssh.resolve(session.place.remote.target)).hostname;
  }

  /** One target's pipeline: sync, image, container, lifecycle commands, hooks, forwards. */
  async function connectOne(session: ProjectSession, options: ConnectOptions): Promise<ConnectResult> {
    const { place, loaded, identity, state } = session;
    const role = session.role ?? 'head';
    let syncSummary: SyncSummary | undefined;
    const syncing = place.kind === 'remote' && !options.skipSync;
    // Features resolve first: a wrong option or an unreachable registry fails before anything moves.
    const features = deps.features && configuredFeatures(loaded.config) ? await deps.features() : undefined;
    const prepared = features ? await prepareFeatures(features, loaded, deps.projectDir, reporter) : undefined;
    // Loading the Docker client is ~60 ms of synchronous module evaluation that blocks the
    // event loop. Started a moment after rsync was spawned, it runs while rsync works in its
    // own process, so the two overlap instead of adding up.
    setTimeout(() => place.warmUp(), syncing ? 30 : 0);
    if (syncing) syncSummary = await pushProject(session);
    const plan = planContainer({
      config: loaded.config,
      identity,
      workspaceSource: session.workspaceSource,
      secretRefs: loaded.secretRefs,
      extraPorts: (options.ports ?? []).map(parsePortSpec),
      projectDir: deps.projectDir,
      role,
    });
    if (place.kind === 'local') {
      // Locally the published port is the one the user asked for: no tunnel in between.
      plan.spec.ports = plan.forwards.map((f) => ({ container: f.remote, host: f.local }));
    }
    const base = await ensureImage(place.containers, plan, options.forceRebuild ?? false);
    const featured = features && prepared
      ? await applyFeatures({
        features, containers: place.containers, loaded, projectDir: deps.projectDir, identity,
        baseImage: base.image, reporter, force: options.forceRebuild ?? false,
      }, prepared)
      : undefined;
    const image = featured ? { image: featured.image, action: featured.action } : base;
    const spec = featured ? withFeatureContributions(plan.spec, featured.contributions) : plan.spec;
    const ensured = await reporter.task('Starting the dev container', () =>
      place.containers.ensureContainer({ ...spec, image: image.image }, { force: options.forceRebuild ?? false }));
    for (const warning of ensured.warnings) reporter.warn(warning);
    if (ensured.action === 'created' || ensured.action === 'recreated') {
      await runLifecycle(session, ensured.id, 'on_create_command', featured);
      await runLifecycle(session, ensured.id, 'post_create_command', featured);
    }
    if (ensured.action !== 'reused') await runLifecycle(session, ensured.id, 'post_start_command', featured);
    const pluginContainer = await pluginHooks.containerStart(session, ensured, image.image);
    state.upsertContainer({
      projectId: session.projectId, remote: place.name, containerId: ensured.id, name: ensured.name,
      image: image.image, configHash: ensured.configHash, status: 'running',
    });
    const forwards = role === 'worker' ? [] : await forwarder.apply(session, plan, ensured, { detach: options.detach ?? false });
    if (role === 'head') state.setLastRemote(session.projectId, place.name);
    if (place.kind === 'remote') state.touchRemote(place.name);
    await pluginHooks.connectComplete(session, ensured, pluginContainer, forwards);
    return {
      target: place.name,
      project: identity.slug,
      ...(place.kind === 'remote' ? { remoteDir: session.workspaceSource } : {}),
      image: image.image,
      imageAction: image.action,
      container: { id: ensured.id, name: ensured.name, action: ensured.action, ...(ensured.reason ? { reason: ensured.reason } : {}) },
      ...(syncSummary ? { sync: syncSummary } : {}),
      forwards,
      warnings: ensured.warnings,
      workdir: plan.workdir,
      role,
      ...(featured ? { features: featured.installed } : {}),
    };
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

  /** The project's running container on its place, or a NOT_CONNECTED error saying what to run. */
  async function requireContainer(session: ProjectSession): Promise<string> {
    const record = session.state.getContainer(session.projectId, session.place.name);
    const info = record ? await session.place.containers.inspect(record.containerId) : undefined;
    if (!record || !info) {
      throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `start it with: mltoolbox connect ${session.place.name} --no-attach`);
    }
    if (!info.running) {
      throw new UserError('CONTAINER_NOT_RUNNING', `the dev container ${info.name} on ${session.place.name} is ${info.state}`, `start it again with: mltoolbox connect ${session.place.name} --no-attach`);
    }
    return info.id;
  }

  /** The project's container on the session's place if it runs, else undefined (no error: a hook just gets no container). */
  async function runningContainer(session: ProjectSession): Promise<{ id: string; name: string } | undefined> {
    const record = session.state.getContainer(session.projectId, session.place.name);
    const info = record ? await session.place.containers.inspect(record.containerId) : undefined;
    return info?.running ? { id: info.id, name: info.name } : undefined;
  }

  function requireRemote(session: ProjectSession, what: string): asserts session is ProjectSession & { remoteShell: RemoteShell } {
    if (session.place.kind !== 'remote' || !session.remoteShell) {
      throw new UserError('USAGE', `${what} needs a remote host; the local target uses your project folder directly`, `name a host: mltoolbox ${what} HOST`);
    }
  }

  /**
   * Runs argv in the dev container on the user's terminal: `docker exec`
   * locally, or through the shared SSH connection (`ssh -t host docker exec -it`)
   * so a shell gets a real TTY with resize and Ctrl-C. Returns the exit code.
   */
  async function execInContainer(target: string | undefined, argv: readonly string[], options: { tty: boolean; interactive: boolean }): Promise<number> {
    const { command, args } = await withSession(target, async (session) => {
      const id = await requireContainer(session);
      const workdir = session.loaded.config.project?.workdir ?? '/workspace';
      const flags = [...(options.interactive ? ['-i'] : []), ...(options.tty ? ['-t'] : [])];
      const docker = ['docker', 'exec', ...flags, '-w', workdir, id, ...argv];
      if (session.place.kind === 'local') return { command: 'docker', args: docker.slice(1) };
      const { ssh, target: sshTarget } = session.place.remote!;
      return { command: 'ssh', args: [options.tty ? '-t' : '-T', ...ssh.sshArgs(sshTarget), joinShellCommand(docker)] };
    });
    return runInteractive(command, args, { env: deps.env }).catch((error: unknown) => {
      if (!isCommandNotFound(error)) throw error;
      throw new UserError('USAGE', `exec and shell need the ${command} program on this machine, and there is none on PATH`,
        command === 'docker' ? 'install the Docker CLI (apt-get install docker.io, or docker-ce-cli)' : 'install the OpenSSH client (apt-get install openssh-client)');
    });
  }

  return {
    connect,
    ports: forwarder,
    open,
    execInContainer,
    shell: (target: string | undefined, tty: boolean) => execInContainer(target, ['sh', '-c', LOGIN_SHELL], { tty, interactive: true }),
    withSession,
    requireContainer,

    sync: (target: string | undefined, options: { dryRun?: boolean }) =>
      withSession(target, async (session) => {
        requireRemote(session, 'sync');
        const summary = await pushProject(session, options);
        session.state.setLastRemote(session.projectId, session.place.name);
        return { target: session.place.name, remoteDir: session.workspaceSource, summary };
      }),

    watch: (target: string | undefined, signal: AbortSignal, onEvent: (event: WatchEvent) => void) =>
      withSession(target, async (session) => {
        requireRemote(session, 'sync');
        await (await deps.sync()).watch({
          remote: session.remoteShell,
          localDir: deps.projectDir,
          remoteDir: session.workspaceSource,
          rules: rulesFromConfig(session.loaded.config.sync),
          signal,
          debounceMs: session.loaded.config.sync?.watch?.debounce_ms ?? DEFAULT_DEBOUNCE_MS,
        }, onEvent);
        return { target: session.place.name };
      }),

    fetch: (target: string | undefined, remotePath: string, localPath: string | undefined) =>
      withSession(target, async (session) => {
        requireRemote(session, 'fetch');
        const localDir = localPath ? join(deps.projectDir, localPath) : deps.projectDir;
        const summary = await reporter.task(`Fetching ${remotePath} from ${session.place.name}`, async (task) =>
          (await deps.sync()).fetch({
            remote: session.remoteShell!,
            remoteDir: session.workspaceSource,
            localDir,
            paths: [remotePath],
            onProgress: (p) => task.update(progressText(p)),
          }));
        await pluginHooks.afterFetch(session, { target: session.place.name, paths: [remotePath], localDir, remoteDir: session.workspaceSource }, summary,
          // The files are here already: an engine that does not answer only costs the hook its container.
          () => runningContainer(session).catch(() => undefined));
        return { target: session.place.name, summary };
      }),

    logs: (target: string | undefined, options: { follow: boolean; tail?: number; signal?: AbortSignal }, write: (stream: 'stdout' | 'stderr', data: Buffer) => void) =>
      withSession(target, async (session) => {
        const id = await requireContainer(session).catch(async (error: unknown) => {
          // Logs of a stopped container are still worth reading.
          const record = session.state.getContainer(session.projectId, session.place.name);
          if (record && error instanceof UserError && error.code === 'CONTAINER_NOT_RUNNING') return record.containerId;
          throw error;
        });
        await session.place.containers.logs(id, { follow: options.follow, ...(options.tail ? { tail: options.tail } : {}), ...(options.signal ? { signal: options.signal } : {}) },
          (chunk) => write(chunk.stream, chunk.data));
      }),

    status: (target: string | undefined) =>
      withSession(target, async (session) => {
        const record = session.state.getContainer(session.projectId, session.place.name);
        const projectRemote = session.state.getProjectRemote(session.projectId, session.place.name);
        // Independent round trips (engine, local ports, the host's nvidia-smi): sent together.
        const [info, forwards, gpu] = await Promise.all([
          record ? session.place.containers.inspect(record.containerId) : undefined,
          forwarder.list(session.place.name),
          session.place.remote ? remoteGpuStatus(session.place.remote.ssh, session.place.remote.target) : localGpuStatus(deps.env),
        ]);
        return {
          target: session.place.name,
          project: session.identity.slug,
          ...(session.place.kind === 'remote' ? { remoteDir: session.workspaceSource } : {}),
          container: info ? { id: info.id, name: info.name, image: info.image, state: info.state, status: info.status } : null,
          forwards,
          gpu,
          lastSync: projectRemote?.lastSyncAt ? { at: projectRemote.lastSyncAt, summary: projectRemote.lastSyncSummary } : null,
        };
      }),

    stop: (target: string | undefined) =>
      withSession(target, async (session) => {
        const record = session.state.getContainer(session.projectId, session.place.name);
        if (!record) throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `nothing to stop; see what runs with: mltoolbox status ${session.place.name}`);
        await pluginHooks.containerStop(session, { id: record.containerId, name: record.name }, 'stop');
        await reporter.task(`Stopping ${record.name}`, () => session.place.containers.stop(record.containerId));
        session.state.upsertContainer({ ...record, status: 'stopped' });
        return { target: session.place.name, container: record.name, action: 'stopped' };
      }),

    down: (target: string | undefined) =>
      withSession(target, async (session) => {
        const record = session.state.getContainer(session.projectId, session.place.name);
        if (!record) throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `nothing to remove; a container left over from lost state is named ${containerName(session.identity)} (docker rm -f it on the host)`);
        await pluginHooks.containerStop(session, { id: record.containerId, name: record.name }, 'remove');
        await reporter.task(`Removing ${record.name} (your files stay)`, () => session.place.containers.remove(record.containerId));
        session.state.removeContainer(session.projectId, session.place.name);
        await forwarder.closeAll(session);
        return { target: session.place.name, container: record.name, action: 'removed', filesKept: session.workspaceSource };
      }),
  };
}

export type ConnectionOrchestrator = ReturnType<typeof createConnectionOrchestrator>;
