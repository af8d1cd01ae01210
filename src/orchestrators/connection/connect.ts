import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describeError, UserError } from '../../core/errors.ts';
import { LockTimeoutError, withLock } from '../../infrastructure/file-lock.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ClusterInfo } from '../../plugin-api/index.ts';
import type { EnsureResult } from '../../services/containers/types.ts';
import { parsePortMapping } from '../../services/ports/port-spec.ts';
import type { SyncSummary } from '../../services/sync/types.ts';
import type { FeaturesService } from '../../services/features/index.ts';
import { applyFeatures, applyFeaturesInPlace, configuredFeatures, prepareFeatures, probeFeatureImage, refuseCreateOnly, withFeatureContributions, type FeatureStepResult } from '../features/features-step.ts';
import { writeEditorHost } from '../agent/editor-host.ts';
import { ensureAgent, type AgentConsent, type AgentReport } from '../agent/ensure-agent.ts';
import type { ConnectionHooks } from '../plugins/connection-hooks.ts';
import type { InstanceRecord } from '../../db/index.ts';
import type { Host } from '../../services/host/types.ts';
import { idleSeconds, type IdleArmResult } from '../provisioning/idle-arm.ts';
import { planContainer } from './container-plan.ts';
import type { ForwardView, PortForwarder } from './forwards.ts';
import { ensureImage, sendImage, type ImageAction, type OfflineDefaultImage } from './image.ts';
import { originAt } from '../../services/config/layer.ts';
import type { PlaceDeps } from './place.ts';
import { runLifecycle } from './lifecycle.ts';
import type { LocalHooks } from './local-commands.ts';
import type { TargetRole } from './project-identity.ts';
import type { ProjectSession, Sessions } from './session.ts';

/**
 * connect: ssh → remote folder → sync → image → container → lifecycle
 * commands → hooks → ports, each step skipped when already satisfied, each
 * failure naming its step; with workers, the same pipeline on every target.
 */
export interface ConnectOptions {
  target?: string;
  /** Further targets that get the same pipeline as workers of the first (default: what plugins' workerTargets return, e.g. ray.workers). */
  workers?: readonly string[];
  skipSync?: boolean;
  /** Forwards outlive this command (a background ssh per port) instead of ending with its shell. */
  detach?: boolean;
  forceRebuild?: boolean;
  /** `-p` values as typed: `8888`, `9000:8888`. */
  ports?: readonly string[];
  /** Installing the mlt agent on the host: --yes, or how to ask (docs/agent.md). */
  agent?: AgentConsent;
  /**
   * A provisioned instance with an idle timeout: restarts its idle watcher
   * when it is not running (after a reboot or a stop/start). provision arms
   * by itself and passes none.
   */
  rearmIdle?: (record: InstanceRecord, host: Host, agentPath: string | undefined) => Promise<IdleArmResult>;
}

export interface ConnectResult {
  target: string;
  project: string;
  remoteDir?: string;
  image: string;
  imageAction: ImageAction;
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
  /** What the features step did: built or reused the features image; on a pod, installed them in it or found them there. */
  featuresAction?: FeatureStepResult['action'];
  /** The mlt agent on the host (remote targets only; on a pod, in the pod when it has an idle timeout). */
  agent?: AgentReport;
  /** connect's re-arm of a provisioned instance's idle watcher (options.rearmIdle). */
  idle?: IdleArmResult;
  /** Whether the agent's fast channel answers on the host (later syncs skip the login shell; docs/sync.md). */
  fastChannel?: boolean;
  /** The ssh Host alias that opens the dev container (editors, scp, ssh -L); see docs/editors.md. */
  sshHost?: string;
}

/** The worker targets of a connect: the command line's, else the plugins' (workerTargets); never the head itself, never twice. */
export function workerTargets(head: string, fromCommandLine: readonly string[] | undefined, fromPlugins: readonly string[]): string[] {
  const wanted = fromCommandLine && fromCommandLine.length > 0 ? fromCommandLine : fromPlugins;
  return [...new Set(wanted)].filter((name) => name !== head);
}

/** An mlt the host can run: installed now, current, or newer. */
/** The agent installs a user declined, by host and version, kept in the state's meta table. */
function declinedAgents(state: ProjectSession['state']): NonNullable<AgentConsent['declined']> {
  const key = (what: string) => `agent.declined ${what}`;
  return { has: (what) => state.getMeta(key(what)) !== undefined, add: (what) => state.setMeta(key(what), new Date().toISOString()) };
}

function agentReady(agent: AgentReport | undefined): agent is AgentReport & { path: string } {
  return agent?.path !== undefined && ['current', 'installed', 'upgraded', 'newer-on-host'].includes(agent.action);
}

/** How long a connect waits for another connect of the same project and target. */
const CONNECT_LOCK_WAIT_MS = 15 * 60_000;

export interface ConnectDeps extends Pick<PlaceDeps, 'createContainers' | 'localDockerSocket'> {
  env: NodeJS.ProcessEnv;
  offlineDefaultImage?: OfflineDefaultImage;
  /** mltoolbox's config folder, for the editors' ssh entries (none written without it). */
  configDir?: string;
  reporter: Reporter;
  projectDir: string;
  /** A private folder for the per project+target connect locks. */
  lockDir: string;
  sessions: Sessions;
  hooks: ConnectionHooks;
  forwarder: PortForwarder;
  /** hooks.* and initialize_command on this machine. */
  localHooks: LocalHooks;
  /** The sync step (shared with `mltoolbox sync`). */
  push(session: ProjectSession): Promise<SyncSummary>;
  /** Dev Container Features (fetch on this machine, build on the target's engine). */
  features?(): Promise<FeaturesService>;
  /** The shell step (shared with `mltoolbox shell`): post_attach_command, the shell, hooks.pre_disconnect. */
  attach(session: ProjectSession, tty: boolean, id: string): Promise<number>;
}

export interface Connect {
  connect(options: ConnectOptions): Promise<ConnectResult>;
  /**
   * connect, then a shell in the head's container in the same session (one
   * SSH connection, one "Connecting to"). `ready` sees the result before the shell starts.
   */
  connectAndAttach(options: ConnectOptions, tty: boolean, ready: (result: ConnectResult) => void): Promise<{ result: ConnectResult; exitCode: number }>;
}

export function createConnect(deps: ConnectDeps): Connect {
  const { reporter, sessions, forwarder } = deps;
  const pluginHooks = deps.hooks;
  const { withSession, inSession } = sessions;

  /**
   * connect: the first target is the head; each worker target then gets the
   * same pipeline in its own session, with the cluster in every hook's context.
   * Plugins' shutdown runs once, at the end, with the head's session.
   */
  function connect(options: ConnectOptions): Promise<ConnectResult> {
    return withSession(options.target, (head) => oneConnectAtATime(head, () => connectAll(head, options)), connectOpenOptions);
  }

  function connectAndAttach(options: ConnectOptions, tty: boolean, ready: (result: ConnectResult) => void): Promise<{ result: ConnectResult; exitCode: number }> {
    return withSession(options.target, async (head) => {
      const result = await oneConnectAtATime(head, () => connectAll(head, options));
      ready(result);
      return { result, exitCode: await deps.attach(head, tty, result.container.id) };
    }, connectOpenOptions);
  }

  /**
   * Connects of one project to one target run one at a time (across
   * processes): two would race to create the same container. The second
   * waits, saying for whom, and then finds the container ready.
   */
  async function oneConnectAtATime<T>(session: ProjectSession, work: () => Promise<T>): Promise<T> {
    const key = createHash('sha256').update(`${deps.projectDir}\0${session.place.name}`).digest('hex').slice(0, 16);
    try {
      return await withLock(join(deps.lockDir, `connect-${key}.lock`), work, {
        timeoutMs: CONNECT_LOCK_WAIT_MS,
        purpose: `connect ${session.place.name}`,
        onBusy: (owner) => reporter.info(`another connect of this project to ${session.place.name} is running (pid ${owner.pid}); waiting for it to finish`),
      });
    } catch (error) {
      if (!(error instanceof LockTimeoutError)) throw error;
      throw new UserError('CONNECT_IN_PROGRESS', `another connect of this project to ${session.place.name} is running (pid ${error.owner?.pid ?? '?'}) and did not finish within ${CONNECT_LOCK_WAIT_MS / 60_000} minutes`,
        `wait for it to finish, or stop it if it hangs (kill ${error.owner?.pid ?? 'PID'}); then run connect again`, { data: { pid: error.owner?.pid ?? null } });
    }
  }

  /** initialize_command runs on this machine before the host is reached, as devcontainer.json's initializeCommand. */
  const connectOpenOptions = {
    secrets: true,
    beforeConnect: (loaded: ProjectSession['loaded'], target: string) => deps.localHooks('initialize_command', loaded, { target }),
  };

  /** The head, then each worker (the command line's, else the plugins' workerTargets); then hooks.post_connect. */
  async function connectAll(head: ProjectSession, options: ConnectOptions): Promise<ConnectResult> {
    const fromPlugins = options.workers?.length ? [] : await pluginHooks.workerTargets(head);
    const workers = workerTargets(head.place.name, options.workers, fromPlugins);
    head.role = 'head';
    let result: ConnectResult;
    if (workers.length === 0) {
      result = await connectOne(head, options);
    } else {
      const cluster: ClusterInfo = { head: { target: head.place.name, address: await headAddress(head) }, workers };
      head.cluster = cluster;
      const headResult = await connectOne(head, options);
      const joined: ConnectResult[] = [];
      for (const name of workers) {
        joined.push(await inSession(name, (worker) => {
          worker.role = 'worker';
          worker.cluster = cluster;
          return connectOne(worker, options);
        }, { secrets: true }));
      }
      result = { ...headResult, workers: joined };
    }
    await deps.localHooks('hooks.post_connect', head.loaded, {
      target: head.place.name, ...(head.remoteDir ? { remoteDir: head.remoteDir } : {}), container: result.container.name,
    });
    return result;
  }

  /** How other hosts reach the head: ssh's HostName for it (an alias is no address elsewhere). */
  function headAddress(session: ProjectSession): Promise<string> {
    return session.place.host.address();
  }

  /** One target's pipeline: sync, image, container, lifecycle commands, hooks, forwards. */
  async function connectOne(session: ProjectSession, options: ConnectOptions): Promise<ConnectResult> {
    const { place, loaded, identity, state } = session;
    const role = session.role ?? 'head';
    let syncSummary: SyncSummary | undefined;
    const syncing = session.remoteShell !== undefined && !options.skipSync;
    // Features resolve first: a wrong option or an unreachable registry fails before anything moves.
    const features = deps.features && configuredFeatures(loaded.config) ? await deps.features() : undefined;
    const prepared = features ? await prepareFeatures(features, loaded, deps.projectDir, reporter) : undefined;
    // No engine: the instance is the container (a pod), so features install into it as it runs.
    const inPlace = !place.engineSocket;
    if (prepared && inPlace) await refuseCreateOnly(loaded, deps.projectDir, prepared, place.name);
    const plan = planContainer({
      config: loaded.config,
      identity,
      workspaceSource: session.workspaceSource,
      secretRefs: loaded.secretRefs,
      extraPorts: (options.ports ?? []).map(parsePortMapping),
      projectDir: deps.projectDir,
      role,
      publishOn: place.host.publishPortsOn,
      imageIsDefault: originAt(loaded.origins, ['environment', 'base_image'])?.kind === 'default',
    });
    const step = { features: features!, loaded, projectDir: deps.projectDir, identity, reporter, force: options.forceRebuild ?? false };
    // Loading the Docker client is ~60 ms of synchronous module evaluation that blocks the
    // event loop. Started a moment after rsync was spawned, it runs while rsync works in its
    // own process, so the two overlap instead of adding up; so does looking up the features image.
    let probed: ReturnType<typeof probeFeatureImage> | undefined;
    setTimeout(() => {
      place.warmUp();
      if (prepared && !inPlace && plan.image.kind === 'image') probed = probeFeatureImage({ ...step, containers: place.containers, baseImage: plan.image.reference }, prepared);
    }, syncing ? 30 : 0);
    if (syncing) syncSummary = await deps.push(session);
    const base = await ensureImage({
      ...deps,
      transfer: loaded.config.environment.image_transfer,
      ...(place.host.imagesTravel ? { sendFromLocal: (reference: string) => sendImage(deps, place, reference) } : {}),
    }, place.containers, plan, options.forceRebuild ?? false);
    const featured = !prepared ? undefined
      : inPlace ? await applyFeaturesInPlace({ ...step, baseImage: base.image, host: place.host }, prepared)
        : await applyFeatures({ ...step, baseImage: base.image, containers: place.containers, ...(probed ? { probed } : {}) }, prepared);
    const image = featured && !inPlace ? { image: featured.image, action: featured.action as ImageAction } : base;
    const spec = featured ? withFeatureContributions(plan.spec, featured.contributions) : plan.spec;
    const ensured = await reporter.task('Starting the dev container', () =>
      place.containers.ensureContainer({ ...spec, image: image.image }, { force: options.forceRebuild ?? false }));
    for (const warning of ensured.warnings) reporter.warn(warning);
    // Recorded at once: an interrupted connect (Ctrl-C in a lifecycle command) leaves state and engine agreeing.
    state.upsertContainer({
      projectId: session.projectId, remote: place.name, containerId: ensured.id, name: ensured.name,
      image: image.image, configHash: ensured.configHash, status: 'running',
    });
    if (ensured.action === 'created' || ensured.action === 'recreated') {
      await runLifecycle(reporter, session, ensured.id, 'on_create_command', featured?.contributions.lifecycle);
      await runLifecycle(reporter, session, ensured.id, 'post_create_command', featured?.contributions.lifecycle);
    }
    if (ensured.action !== 'reused') await runLifecycle(reporter, session, ensured.id, 'post_start_command', featured?.contributions.lifecycle);
    const pluginContainer = await pluginHooks.containerStart(session, ensured, image.image);
    const forwards = role === 'worker' ? [] : await forwarder.apply(session, plan, ensured, { detach: options.detach ?? false });
    // The agent runs beside a Docker engine on an ssh host (not here); on an instance that is itself the
    // container (a pod) only to watch for idleness, in the pod user's ~/.local/bin unless agent.install_dir says.
    const instance = place.host.sshArgs ? state.getInstance(place.name) : undefined;
    const watched = instance !== undefined && idleSeconds(instance) > 0;
    const agentSettings = inPlace ? { ...loaded.config.agent, install_dir: loaded.config.agent?.install_dir ?? '~/.local/bin' } : loaded.config.agent;
    const agent = !place.host.sshArgs || (inPlace && !watched) ? undefined : await ensureAgent(reporter, deps.env, place.host, agentSettings, { ...(options.agent ?? { yes: false }), declined: declinedAgents(state) });
    const fastChannel = agentReady(agent) ? await startFastChannel(place.host, agent) : undefined;
    const sshHost = role === 'head' && !inPlace ? await editorHost(session, ensured.name, agent) : undefined;
    const idle = watched && options.rearmIdle ? await options.rearmIdle(instance, place.host, agentReady(agent) ? agent.path : undefined) : undefined;
    if (role === 'head') state.setLastRemote(session.projectId, place.name);
    state.touchRemote(place.name); // a saved remote's "last used"; nothing for any other name
    await pluginHooks.connectComplete(session, ensured, pluginContainer, forwards);
    return {
      target: place.name,
      project: identity.slug,
      ...(session.remoteDir ? { remoteDir: session.remoteDir } : {}),
      image: image.image,
      imageAction: image.action,
      container: { id: ensured.id, name: ensured.name, action: ensured.action, ...(ensured.reason ? { reason: ensured.reason } : {}) },
      ...(syncSummary ? { sync: syncSummary } : {}),
      forwards,
      warnings: ensured.warnings,
      workdir: plan.workdir,
      role,
      ...(featured ? { features: featured.installed, featuresAction: featured.action } : {}),
      ...(agent ? { agent } : {}),
      ...(fastChannel !== undefined ? { fastChannel } : {}),
      ...(sshHost ? { sshHost } : {}),
      ...(idle ? { idle } : {}),
    };
  }

  /** The agent's fast channel (docs/sync.md): found running or started; a failure is a line in --verbose, never a failed connect. */
  async function startFastChannel(host: Host, agent: AgentReport & { path: string }): Promise<boolean | undefined> {
    if (!host.startFastChannel) return undefined;
    try {
      return await host.startFastChannel({ path: agent.path, version: agent.version ?? '' });
    } catch (error) {
      reporter.debug(`fast channel not started on ${host.name}: ${describeError(error)}`);
      return false;
    }
  }

  /** The editors' Host entry for the container, when the host runs the agent. A failure is a warning. */
  async function editorHost(session: ProjectSession, container: string, agent: AgentReport | undefined): Promise<string | undefined> {
    if (!deps.configDir || !agentReady(agent)) return undefined;
    try {
      return await writeEditorHost({ configDir: deps.configDir, host: session.place.host, slug: session.identity.slug, container, mltPath: agent.path });
    } catch (error) {
      reporter.warn(`the ssh entry for editors was not written: ${describeError(error)}`);
      return undefined;
    }
  }

  return { connect, connectAndAttach };
}
