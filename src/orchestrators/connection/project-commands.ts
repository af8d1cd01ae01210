import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { rulesFromConfig } from '../../services/sync/config-rules.ts';
import { gpuStatus, type GpuStatus } from '../../services/gpu/status.ts';
import { DEFAULT_DEBOUNCE_MS } from '../../services/sync/watch.ts';
import type { SyncManager, SyncProgress, SyncSummary, WatchEvent } from '../../services/sync/types.ts';
import { existingEditorAlias } from '../agent/editor-host.ts';
import type { ConnectionHooks } from '../plugins/connection-hooks.ts';
import type { PortForwarder } from './forwards.ts';
import { instanceView } from '../provisioning/instance-view.ts';
import { containerName } from './project-identity.ts';
import { requireRemote, type ProjectSession, type Sessions } from './session.ts';

/**
 * The project commands after connect: sync, watch, fetch, exec, shell, logs,
 * status, stop, down. Each opens the project's session, does one thing, and
 * closes it.
 */
/** bash when the image has it, else sh: busybox and slim images have no bash. */
const LOGIN_SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi';

const progressText = (p: SyncProgress) => `${p.percent}% · ${p.files} files · ${p.rate}`;

/** What `status` needs about a host from elsewhere (the relay): its container for the project and its GPUs. */
export type HostStatusSource = (host: string, project: { project: string; containerId?: string }) => Promise<{
  container: { id: string; name: string; image: string; state: string; status: string } | null;
  gpu: GpuStatus;
} | undefined>;

export interface ProjectCommandsDeps {
  reporter: Reporter;
  /** mltoolbox's config folder, where connect wrote the editors' ssh entries. */
  configDir?: string;
  projectDir: string;
  sessions: Sessions;
  hooks: ConnectionHooks;
  forwarder: PortForwarder;
  sync(): Promise<SyncManager>;
}

export function createProjectCommands(deps: ProjectCommandsDeps) {
  const { reporter, sessions, forwarder } = deps;
  const pluginHooks = deps.hooks;
  const { withSession, requireContainer, runningContainer, containerHost } = sessions;

  /** The ssh Host alias connect wrote for the project's container on a host (docs/editors.md), or null. */
  const editorAliasOn = async (host: string, slug: string) =>
    (deps.configDir ? await existingEditorAlias(deps.configDir, slug, host) : undefined) ?? null;

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

  /**
   * Runs argv in the dev container on the user's terminal: the engine's own
   * `exec -it` command line (from the ContainerManager), run on the engine's
   * host — here, or through the shared SSH connection with `ssh -t` — so a
   * shell gets a real TTY with resize and Ctrl-C. Returns the exit code.
   */
  async function execInContainer(target: string | undefined, argv: readonly string[], options: { tty: boolean; interactive: boolean }): Promise<number> {
    return withSession(target, async (session) => (await containerHost(session)).execInteractive(argv, { tty: options.tty, stdin: options.interactive }));
  }

  return {
    pushProject,
    execInContainer,
    shell: (target: string | undefined, tty: boolean) => execInContainer(target, ['sh', '-c', LOGIN_SHELL], { tty, interactive: true }),

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

    /**
     * status from another source that already knows the host (the relay):
     * no SSH and no engine round trip. Local facts (forwards, last sync) come
     * from the state database as usual. Undefined when the source has nothing
     * for this target (then the caller asks the host itself).
     */
    statusFrom: async (target: string | undefined, source: HostStatusSource) => {
      const where = await sessions.locate(target);
      if (where.name === 'local') return undefined;
      const found = await source(where.name, { project: where.identity.slug, ...(where.containerId ? { containerId: where.containerId } : {}) });
      if (!found) return undefined;
      return {
        target: where.name,
        project: where.identity.slug,
        ...(where.remoteDir ? { remoteDir: where.remoteDir } : {}),
        container: found.container,
        forwards: await forwarder.list(where.name),
        gpu: found.gpu,
        lastSync: where.lastSync,
        sshHost: await editorAliasOn(where.name, where.identity.slug),
      };
    },

    status: (target: string | undefined) =>
      withSession(target, async (session) => {
        const record = session.state.getContainer(session.projectId, session.place.name);
        const projectRemote = session.state.getProjectRemote(session.projectId, session.place.name);
        const instance = session.place.host.local ? undefined : session.state.getInstance(session.place.name);
        // The local port probes first, alone: they time out after 1 s, and loading the Docker
        // client (synchronous, seconds on a loaded machine) would otherwise count against them.
        const forwards = await forwarder.list(session.place.name);
        // Independent round trips (engine, the host's nvidia-smi): sent together.
        const [info, gpu] = await Promise.all([
          record ? session.place.containers.inspect(record.containerId) : undefined,
          gpuStatus(session.place.host),
        ]);
        return {
          target: session.place.name,
          project: session.identity.slug,
          ...(session.remoteDir ? { remoteDir: session.remoteDir } : {}),
          container: info ? { id: info.id, name: info.name, image: info.image, state: info.state, status: info.status } : null,
          forwards,
          gpu,
          lastSync: projectRemote?.lastSyncAt ? { at: projectRemote.lastSyncAt, summary: projectRemote.lastSyncSummary } : null,
          ...(instance ? { instance: instanceView(instance, Date.now()) } : {}),
          sshHost: session.place.host.local ? null : await editorAliasOn(session.place.name, session.identity.slug),
        };
      }),

    stop: (target: string | undefined) =>
      withSession(target, async (session) => {
        const record = session.state.getContainer(session.projectId, session.place.name);
        if (!record) throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `nothing to stop; see what runs with: mltoolbox status ${session.place.name}`);
        await pluginHooks.containerStop(session, { id: record.containerId, name: record.name }, 'stop');
        await reporter.task(`Stopping ${record.name}`, () => session.place.containers.stop(record.containerId));
        session.state.upsertContainer({ ...record, status: 'stopped' });
        return { target: session.place.name, container: record.name, action: 'stopped' as const };
      }),

    down: (target: string | undefined) =>
      withSession(target, async (session) => {
        const record = session.state.getContainer(session.projectId, session.place.name);
        if (!record) throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `nothing to remove; a container left over from lost state is named ${containerName(session.identity)} (docker rm -f it on the host)`);
        await pluginHooks.containerStop(session, { id: record.containerId, name: record.name }, 'remove');
        await reporter.task(`Removing ${record.name} (your files stay)`, () => session.place.containers.remove(record.containerId));
        session.state.removeContainer(session.projectId, session.place.name);
        await forwarder.closeAll(session);
        return { target: session.place.name, container: record.name, action: 'removed' as const, filesKept: session.workspaceSource };
      }),
  };
}

export type ProjectCommands = ReturnType<typeof createProjectCommands>;
