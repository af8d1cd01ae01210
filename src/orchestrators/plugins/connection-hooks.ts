import type { ConfigView, ContainerInfo, FetchInfo, ForwardInfo } from '../../plugin-api/index.ts';
import { DEFAULT_WORKDIR } from '../../services/config/defaults.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import type { EnsureResult } from '../../services/containers/types.ts';
import type { SyncSummary } from '../../services/sync/types.ts';
import type { ProjectSession } from '../connection/connection-orchestrator.ts';
import type { PluginHostService } from './plugin-host.ts';
import { projectScope } from './session-scope.ts';
import type { HookScope } from './types.ts';

type PluginsGetter = (() => Promise<PluginHostService>) | undefined;

const workdirOf = (config: LoadedConfig['config']) => config.project.workdir;

/**
 * The connection orchestrator's side of the plugin hooks: one call per step,
 * each building what the plugins may use at that step (container, host,
 * ports). With no plugin host (unit tests) or no enabled plugin, every call
 * is a no-op.
 */
export function createConnectionHooks(plugins: PluginsGetter, options: { projectDir: string; command: string }) {
  let shutdownDone = false;
  // Plugins are enabled only by `plugins:`: once every loaded config listed none, there is nothing to run, and the
  // plugin host (its loader and schema code) is never created — what keeps a warm exec or sync at raw-ssh speed.
  let pluginsListed: boolean | undefined;

  async function host(): Promise<PluginHostService | undefined> {
    if (!plugins || pluginsListed === false) return undefined;
    const found = await plugins();
    return found.active().length > 0 ? found : undefined;
  }

  const scopeFor = (session: ProjectSession, container?: { id: string; name: string; ports?: EnsureResult['ports'] }) => sessionScope(session, options, container);

  function syncInfo(session: ProjectSession, dryRun: boolean) {
    return { target: session.place.name, localDir: options.projectDir, remoteDir: session.workspaceSource, dryRun };
  }

  return {
    /** configLoaded (reduce): plugins may return an adjusted config. */
    async configLoaded(loaded: LoadedConfig): Promise<LoadedConfig> {
      pluginsListed = pluginsListed === true || loaded.config.plugins.length > 0;
      const found = await host();
      if (!found) return loaded;
      const config = loaded.config as unknown as ConfigView;
      const scope: HookScope = {
        command: options.command,
        config,
        project: { name: loaded.config.project.name, localDir: options.projectDir, workdir: workdirOf(loaded.config) },
      };
      const result = await found.hooks.reduce('configLoaded', { config }, scope);
      return result.config === config ? loaded : { ...loaded, config: result.config as unknown as LoadedConfig['config'] };
    },

    /** workerTargets (collect): further connect targets plugins add (Ray's ray.workers). */
    async workerTargets(session: ProjectSession): Promise<string[]> {
      return (await (await host())?.hooks.collect('workerTargets', { head: session.place.name }, scopeFor(session))) ?? [];
    },

    async beforeSync(session: ProjectSession, dryRun: boolean): Promise<void> {
      await (await host())?.hooks.sequential('beforeSync', { sync: syncInfo(session, dryRun) }, scopeFor(session));
    },

    async afterSync(session: ProjectSession, dryRun: boolean, summary: SyncSummary): Promise<void> {
      const result = { filesTransferred: summary.filesTransferred, bytes: summary.bytes, deleted: summary.deleted, durationMs: summary.durationMs };
      await (await host())?.hooks.parallel('afterSync', { sync: syncInfo(session, dryRun), result }, scopeFor(session));
    },

    /**
     * afterFetch (parallel). The running container is looked up only when a
     * plugin has the hook: a plain fetch never pays for the engine.
     */
    async afterFetch(session: ProjectSession, fetch: FetchInfo, summary: SyncSummary, container: () => Promise<{ id: string; name: string } | undefined>): Promise<void> {
      const found = await host();
      if (!found || !found.active().some((a) => a.plugin.hooks?.afterFetch !== undefined)) return;
      const result = { filesTransferred: summary.filesTransferred, bytes: summary.bytes, deleted: summary.deleted, durationMs: summary.durationMs };
      await found.hooks.parallel('afterFetch', { fetch, result }, scopeFor(session, await container()));
    },

    async containerStart(session: ProjectSession, ensured: EnsureResult, image: string): Promise<ContainerInfo> {
      const container = containerInfo(session, ensured, image);
      const found = await host();
      if (found) await found.hooks.sequential('containerStart', { container, config: session.loaded.config as unknown as ConfigView }, scopeFor(session, ensured));
      return container;
    },

    async connectComplete(session: ProjectSession, ensured: EnsureResult, container: ContainerInfo, forwards: readonly ForwardInfo[]): Promise<void> {
      await (await host())?.hooks.parallel('connectComplete', {
        target: session.place.name, project: session.identity.slug, container, forwards: forwards.map((f) => ({ local: f.local, container: f.container })),
      }, scopeFor(session, ensured));
    },

    async containerStop(session: ProjectSession, container: { id: string; name: string }, action: 'stop' | 'remove'): Promise<void> {
      await (await host())?.hooks.sequential('containerStop', { container, action }, scopeFor(session, container));
    },

    /** shutdown (parallel), once per command, after success or failure. */
    async shutdown(session: ProjectSession | undefined, failure: unknown): Promise<void> {
      if (shutdownDone) return;
      shutdownDone = true;
      const found = await host().catch(() => undefined);
      if (!found) return;
      const scope: HookScope = session ? scopeFor(session) : { command: options.command, config: {}, project: { name: 'project', localDir: options.projectDir, workdir: DEFAULT_WORKDIR } };
      await found.shutdown(scope, failure === undefined ? { ok: true } : { ok: false, error: failure });
    },
  };
}

/** What plugins may use for a project session: its config, project, the container (if given), the host. */
export function sessionScope(session: ProjectSession, options: { projectDir: string; command: string }, container?: { id: string; name: string; ports?: EnsureResult['ports'] }): HookScope {
  const config = session.loaded.config as unknown as ConfigView;
  return projectScope({
    command: options.command,
    config,
    project: {
      name: session.identity.name,
      localDir: options.projectDir,
      workdir: workdirOf(session.loaded.config),
      target: session.place.name,
      ...(session.remoteDir ? { remoteDir: session.remoteDir } : {}),
      ...(session.role ? { role: session.role } : {}),
    },
    ...(session.cluster ? { cluster: session.cluster } : {}),
    containers: session.place.containers,
    ...(container ? { container } : {}),
    host: session.place.host,
  });
}

function containerInfo(session: ProjectSession, ensured: EnsureResult, image: string): ContainerInfo {
  return {
    id: ensured.id,
    name: ensured.name,
    image,
    action: ensured.action,
    ports: ensured.ports.map((p) => ({ container: p.container, host: p.host })),
    workdir: workdirOf(session.loaded.config),
  };
}

export type ConnectionHooks = ReturnType<typeof createConnectionHooks>;
