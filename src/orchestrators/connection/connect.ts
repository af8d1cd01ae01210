import { describeError, UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ClusterInfo } from '../../plugin-api/index.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import type { EnsureResult } from '../../services/containers/types.ts';
import { parsePortMapping } from '../../services/ports/port-spec.ts';
import type { SyncSummary } from '../../services/sync/types.ts';
import type { FeaturesService } from '../../services/features/index.ts';
import { applyFeatures, configuredFeatures, featureLifecycle, prepareFeatures, withFeatureContributions, type FeatureStepResult } from '../features/features-step.ts';
import { writeEditorHost } from '../agent/editor-host.ts';
import { ensureAgent, type AgentConsent, type AgentReport } from '../agent/ensure-agent.ts';
import type { ConnectionHooks } from '../plugins/connection-hooks.ts';
import { planContainer } from './container-plan.ts';
import type { ForwardView, PortForwarder } from './forwards.ts';
import { ensureImage, sendImage, type ImageAction, type OfflineDefaultImage } from './image.ts';
import { originAt } from '../../services/config/layer.ts';
import type { PlaceDeps } from './place.ts';
import type { TargetRole } from './project-identity.ts';
import type { ProjectSession, Sessions } from './session.ts';

/**
 * connect: ssh → remote folder → sync → image → container → lifecycle
 * commands → hooks → ports, each step skipped when already satisfied, each
 * failure naming its step; with workers, the same pipeline on every target.
 */
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
  /** Installing the mlt agent on the host: --yes, or how to ask (docs/agent.md). */
  agent?: AgentConsent;
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
  /** The mlt agent on the host (remote targets only). */
  agent?: AgentReport;
  /** The ssh Host alias that opens the dev container (editors, scp, ssh -L); see docs/editors.md. */
  sshHost?: string;
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

export interface ConnectDeps extends Pick<PlaceDeps, 'createContainers' | 'localDockerSocket'> {
  env: NodeJS.ProcessEnv;
  offlineDefaultImage?: OfflineDefaultImage;
  /** mltoolbox's config folder, for the editors' ssh entries (none written without it). */
  configDir?: string;
  reporter: Reporter;
  projectDir: string;
  sessions: Sessions;
  hooks: ConnectionHooks;
  forwarder: PortForwarder;
  /** The sync step (shared with `mltoolbox sync`). */
  push(session: ProjectSession): Promise<SyncSummary>;
  /** Dev Container Features (fetch on this machine, build on the target's engine). */
  features?(): Promise<FeaturesService>;
}

export function createConnect(deps: ConnectDeps): (options: ConnectOptions) => Promise<ConnectResult> {
  const { reporter, sessions, forwarder } = deps;
  const pluginHooks = deps.hooks;
  const { withSession, inSession } = sessions;

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
    // Loading the Docker client is ~60 ms of synchronous module evaluation that blocks the
    // event loop. Started a moment after rsync was spawned, it runs while rsync works in its
    // own process, so the two overlap instead of adding up.
    setTimeout(() => place.warmUp(), syncing ? 30 : 0);
    if (syncing) syncSummary = await deps.push(session);
    const plan = planContainer({
      config: loaded.config,
      identity,
      workspaceSource: session.workspaceSource,
      secretRefs: loaded.secretRefs,
      extraPorts: (options.ports ?? []).map(parsePortMapping),
      projectDir: deps.projectDir,
      role,
      publishOn: place.host.local ? 'this-machine' : 'engine-host',
      imageIsDefault: originAt(loaded.origins, ['environment', 'base_image'])?.kind === 'default',
    });
    const base = await ensureImage({
      ...deps,
      transfer: loaded.config.environment.image_transfer ?? 'auto',
      ...(place.host.local ? {} : { sendFromLocal: (reference: string) => sendImage(deps, place, reference) }),
    }, place.containers, plan, options.forceRebuild ?? false);
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
    const agent = place.host.local ? undefined : await ensureAgent(reporter, deps.env, place.host, loaded.config.agent, options.agent ?? { yes: false });
    const sshHost = role === 'head' ? await editorHost(session, ensured.name, agent) : undefined;
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
      ...(featured ? { features: featured.installed } : {}),
      ...(agent ? { agent } : {}),
      ...(sshHost ? { sshHost } : {}),
    };
  }

  /** The editors' Host entry for the container, when the host runs the agent. A failure is a warning. */
  async function editorHost(session: ProjectSession, container: string, agent: AgentReport | undefined): Promise<string | undefined> {
    if (!deps.configDir || !agent?.path || !['current', 'installed', 'upgraded', 'newer-on-host'].includes(agent.action)) return undefined;
    try {
      return await writeEditorHost({ configDir: deps.configDir, host: session.place.host, slug: session.identity.slug, container, mltPath: agent.path });
    } catch (error) {
      reporter.warn(`the ssh entry for editors was not written: ${describeError(error)}`);
      return undefined;
    }
  }

  return connect;
}
