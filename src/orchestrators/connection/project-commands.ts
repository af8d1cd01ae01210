import { uniqueHex } from '../../core/digest.ts';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { rulesFromConfig } from '../../services/sync/config-rules.ts';
import type { GpuStatus } from '../../services/gpu/status.ts';
import type { SyncManager, SyncProgress, SyncStrategy, SyncSummary, WatchEvent } from '../../services/sync/types.ts';
import type { ConnectionHooks } from '../plugins/connection-hooks.ts';
import type { PortForwarder } from './forwards.ts';
import type { LocalHooks } from './local-commands.ts';
import { containerName } from './project-identity.ts';
import { requireRemote, type ProjectSession, type Sessions } from './session.ts';

/** `mltoolbox sync`'s options: one push, or (with `watch` and --watch or sync.watch.enabled) a push on every local save. */
export interface SyncOptions {
  dryRun?: boolean;
  /** Push once even when sync.watch.enabled is set. */
  once?: boolean;
  watch?: { always: boolean; signal: AbortSignal; onEvent: (event: WatchEvent) => void };
}

/**
 * The project commands after connect: sync, watch, fetch, exec, shell, logs,
 * status, stop, down. Each opens the project's session, does one thing, and
 * closes it.
 */
/** bash when the image has it, else sh: busybox and slim images have no bash. */
const LOGIN_SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi';

/** Set on every `mltoolbox exec` process in the container: a run cut off by a lost connection is found by it. */
export const EXEC_TOKEN_ENV = 'MLTOOLBOX_EXEC_ID';

const progressText = (p: SyncProgress) => `${p.percent}% · ${p.files} files · ${p.rate}`;

/** What `status` needs about a host from elsewhere (the relay): its container for the project and its GPUs. */
export type HostStatusSource = (host: string, project: { project: string; containerId?: string }) => Promise<{
  container: { id: string; name: string; image: string; state: string; status: string } | null;
  gpu: GpuStatus;
} | undefined>;

/** A container as `ps` lists it (from the engine over SSH, or from the relay's view of the host). */
export interface HostContainer {
  id: string;
  name: string;
  project: string | undefined;
  image: string;
  state: string;
  status: string;
}

/** What `ps` and `logs` need about a host from elsewhere (the relay); undefined: it has no answer (ask the host). */
export interface HostContainersSource {
  containers(host: string): Promise<HostContainer[] | undefined>;
  logs(host: string, container: string, tail: number): Promise<string | undefined>;
}

/** The exit code of `docker exec` when the engine refuses it (no such container, not running) — and of many commands. */
const DOCKER_EXEC_FAILED = 1;
/** ssh's own failure status (also a program's, when it exits 255). */
const SSH_FAILED = 255;

export interface ProjectCommandsDeps {
  reporter: Reporter;
  /** mltoolbox's config folder, where connect wrote the editors' ssh entries. */
  configDir?: string;
  projectDir: string;
  sessions: Sessions;
  hooks: ConnectionHooks;
  /** hooks.* on this machine (pre_sync, post_sync, pre_disconnect). */
  localHooks: LocalHooks;
  forwarder: PortForwarder;
  sync(strategy: SyncStrategy): Promise<SyncManager>;
}

export function createProjectCommands(deps: ProjectCommandsDeps) {
  const { reporter, sessions, forwarder } = deps;
  const pluginHooks = deps.hooks;
  const { withSession, projectContainer, requireContainer, runningContainer, containerHost } = sessions;

  const where = (session: ProjectSession, container?: string) => ({
    target: session.place.name, ...(session.remoteDir ? { remoteDir: session.remoteDir } : {}), ...(container ? { container } : {}),
  });

  /** The ssh Host alias connect wrote for the project's container on a host (docs/editors.md), or null. */
  const editorAliasOn = async (host: string, slug: string) =>
    (deps.configDir ? await (await import('../agent/editor-host.ts')).existingEditorAlias(deps.configDir, slug, host) : undefined) ?? null;

  async function pushProject(session: ProjectSession, options: { dryRun?: boolean } = {}): Promise<SyncSummary> {
    // A dry run changes nothing, so it runs no hook either.
    if (!options.dryRun) await deps.localHooks('hooks.pre_sync', session.loaded, where(session));
    await pluginHooks.beforeSync(session, options.dryRun ?? false);
    const sync = await deps.sync(session.loaded.config.sync.strategy);
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
    if (!options.dryRun) await deps.localHooks('hooks.post_sync', session.loaded, where(session));
    return summary;
  }

  /**
   * Runs argv in the dev container on the user's terminal: the engine's own
   * `exec -it` command line (from the ContainerManager), run on the engine's
   * host — here, or through the shared SSH connection with `ssh -t` — so a
   * shell gets a real TTY with resize and Ctrl-C. Returns the exit code.
   */
  async function execInContainer(target: string | undefined, argv: readonly string[], options: { tty: boolean; interactive: boolean }): Promise<number> {
    // Every process of this run carries the token, so a run cut off by a lost connection can be found and ended.
    const token = `${process.pid}-${uniqueHex(4)}`;
    return withSession(target, async (session) => {
      const run = async (id?: string) =>
        (await containerHost(session, id)).execInteractive(argv, { tty: options.tty, stdin: options.interactive, env: { [EXEC_TOKEN_ENV]: token } });
      const runOnce = async (): Promise<number> => {
        // Warm path: the container state records as running is exec'd at once, with no engine API call before it.
        const record = session.state.getContainer(session.projectId, session.place.name);
        if (record?.status !== 'running') return await run();
        const exitCode = await run(record.containerId);
        if (exitCode !== DOCKER_EXEC_FAILED) return exitCode;
        // 1 is also the engine CLI's own failure (no such container, not running): look, and say so;
        // run again only where the command cannot have run (the recorded container is gone, another one is the project's).
        const actual = await requireContainer(session);
        if (actual === record.containerId) return exitCode;
        reporter.debug(`exec: the recorded container ${record.containerId.slice(0, 12)} is gone; running in ${actual.slice(0, 12)}`);
        return await run(actual);
      };
      try {
        const exitCode = await runOnce();
        // 255 with the connection up: ssh's own failure (our stdout closed under it, as in `exec … | head -1`)
        // or the program's status. The engine does not end a detached exec, so whatever of this run is
        // still running in the container is ended here, as for a lost connection.
        if (exitCode === SSH_FAILED && session.place.host.sshArgs) {
          await endCutOffExec(session, token);
          reporter.debug('exec: exit 255, so any process of this run left in the container was ended');
        }
        return exitCode;
      } catch (error) {
        if (!(error instanceof UserError) || error.code !== 'SSH_CONNECTION_LOST') throw error;
        const stopped = await endCutOffExec(session, token);
        const name = session.place.name;
        throw new UserError('SSH_CONNECTION_LOST', `the ssh connection to ${name} was lost while the command ran in the dev container`,
          stopped ? `the command was stopped in the container (it did not finish); check the host answers (ssh ${name} true) and run it again`
            : `the command may still run in the container: check with 'mltoolbox exec ${name} -- ps aux' once the host answers, then run it again`,
          { cause: error, data: { host: name, stopped } });
      }
    });
  }

  /**
   * Ends every process of a cut-off exec (found by its token) over a fresh
   * connection: the engine's own exec command line run on its host, since the
   * engine's API socket rode the lost one. False when the host cannot be reached.
   */
  async function endCutOffExec(session: ProjectSession, token: string): Promise<boolean> {
    const record = session.state.getContainer(session.projectId, session.place.name);
    if (!record) return false;
    const script = `for p in /proc/[0-9]*; do if tr '\\0' '\\n' <"$p/environ" 2>/dev/null | grep -qx "${EXEC_TOKEN_ENV}=$1"; then kill -TERM "\${p#/proc/}" 2>/dev/null; fi; done`;
    try {
      const command = await session.place.containers.interactiveCommand(record.containerId, ['sh', '-c', script, 'sh', token], { tty: false, stdin: false });
      return (await session.place.host.exec(command, { timeoutMs: 20_000 })).exitCode === 0;
    } catch {
      return false;
    }
  }

  /**
   * A shell in the session's container (`id` when the caller knows it):
   * post_attach_command, the shell, then hooks.pre_disconnect. Returns the shell's exit code.
   */
  async function attach(session: ProjectSession, tty: boolean, id?: string): Promise<number> {
    const known = id ?? await requireContainer(session);
    const [container, info, { runLifecycle }, { lifecycleFromLabels }] = await Promise.all([
      containerHost(session, known), session.place.containers.inspect(known),
      import('./lifecycle.ts'), import('../../services/features/contributions.ts'), // (not on exec's start-up path)
    ]);
    // The features' postAttachCommands, as the features image recorded them, before the user's.
    await runLifecycle(reporter, session, known, 'post_attach_command', lifecycleFromLabels(info?.labels));
    const exitCode = await container.execInteractive(['sh', '-c', LOGIN_SHELL], { tty, stdin: true });
    // MLTOOLBOX_CONTAINER is the container's name, as in post_connect.
    const name = session.state.getContainer(session.projectId, session.place.name)?.name ?? known;
    await deps.localHooks('hooks.pre_disconnect', session.loaded, where(session, name));
    return exitCode;
  }

  return {
    pushProject,
    attach,
    execInContainer,
    shell: (target: string | undefined, tty: boolean) => withSession(target, (session) => attach(session, tty)),

    /**
     * One push; or, with `watch` and --watch or sync.watch.enabled (never for a
     * dry run or --once), a push on every local save until the signal aborts.
     */
    sync: (target: string | undefined, options: SyncOptions) =>
      withSession(target, async (session): Promise<{ target: string; remoteDir: string; summary?: SyncSummary; watched: boolean }> => {
        requireRemote(session, 'sync');
        const { watch } = options;
        if (watch && !options.dryRun && (watch.always || (!options.once && session.loaded.config.sync.watch.enabled))) {
          await (await deps.sync(session.loaded.config.sync.strategy)).watch({
            remote: session.remoteShell,
            localDir: deps.projectDir,
            remoteDir: session.workspaceSource,
            rules: rulesFromConfig(session.loaded.config.sync),
            signal: watch.signal,
            debounceMs: session.loaded.config.sync.watch.debounce_ms,
          }, watch.onEvent);
          return { target: session.place.name, remoteDir: session.workspaceSource, watched: true };
        }
        const summary = await pushProject(session, options);
        session.state.setLastRemote(session.projectId, session.place.name);
        return { target: session.place.name, remoteDir: session.workspaceSource, summary, watched: false };
      }),

    fetch: (target: string | undefined, remotePath: string, localPath: string | undefined) =>
      withSession(target, async (session) => {
        requireRemote(session, 'fetch');
        // A relative LOCAL_PATH is inside the project; an absolute one is that path.
        const localDir = localPath ? resolve(deps.projectDir, localPath) : deps.projectDir;
        const summary = await reporter.task(`Fetching ${remotePath} from ${session.place.name}`, async (task) =>
          (await deps.sync(session.loaded.config.sync.strategy)).fetch({
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

    /** Every mltoolbox container on the target's engine (all projects), the project's own marked. */
    ps: (target: string | undefined) =>
      withSession(target, async (session) => {
        const listed = await session.place.containers.list();
        return { target: session.place.name, project: session.identity.slug, containers: listed.map((c): HostContainer => ({ id: c.id, name: c.name, project: c.project, image: c.image, state: c.state, status: c.status })) };
      }),

    /** ps from the relay's view of the host (no SSH); undefined when it has no answer. */
    psFrom: async (target: string | undefined, source: HostContainersSource) => {
      const where = await sessions.locate(target);
      if (where.name === 'local') return undefined;
      const containers = await source.containers(where.name);
      return containers ? { target: where.name, project: where.identity.slug, containers } : undefined;
    },

    /**
     * The project container's last lines from the relay's agent (no SSH);
     * undefined when it has no answer (then logs asks the host itself).
     */
    logsFrom: async (target: string | undefined, tail: number, source: HostContainersSource) => {
      const where = await sessions.locate(target);
      if (where.name === 'local') return undefined;
      const containers = await source.containers(where.name);
      const hit = containers?.find((c) => (where.containerId ? where.containerId.startsWith(c.id) || c.id.startsWith(where.containerId) : c.project === where.identity.slug));
      if (!hit) return undefined;
      const text = await source.logs(where.name, hit.name, tail);
      return text === undefined ? undefined : { target: where.name, container: hit.name, text };
    },

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
        const projectRemote = session.state.getProjectRemote(session.projectId, session.place.name);
        // 'local' is never an instance's name (names are checked when saved): no instance here.
        const instance = session.state.getInstance(session.place.name);
        // The local port probes first, alone: they time out after 1 s, and loading the Docker
        // client (synchronous, seconds on a loaded machine) would otherwise count against them.
        const forwards = await forwarder.list(session.place.name);
        const [{ gpuStatus }, { readIdle }, { instanceView }] = await Promise.all([
          import('../../services/gpu/status.ts'), import('../provisioning/idle-arm.ts'), import('../provisioning/instance-view.ts'),
        ]);
        // Independent round trips (engine, the host's nvidia-smi): sent together.
        const [info, gpu, idle] = await Promise.all([
          projectContainer(session),
          gpuStatus(session.place.host),
          instance ? readIdle((script, args) => session.place.host.execScript(script, { args, timeoutMs: 15_000 }), instance.name) : undefined,
        ]);
        return {
          target: session.place.name,
          project: session.identity.slug,
          ...(session.remoteDir ? { remoteDir: session.remoteDir } : {}),
          container: info ? { id: info.id, name: info.name, image: info.image, state: info.state, status: info.status, startedAt: info.startedAt, finishedAt: info.finishedAt, exitCode: info.exitCode } : null,
          forwards,
          gpu,
          lastSync: projectRemote?.lastSyncAt ? { at: projectRemote.lastSyncAt, summary: projectRemote.lastSyncSummary } : null,
          ...(instance ? { instance: instanceView(instance, Date.now(), undefined, idle) } : {}),
          sshHost: await editorAliasOn(session.place.name, session.identity.slug),
        };
      }),

    stop: (target: string | undefined) =>
      withSession(target, async (session) => {
        await projectContainer(session);
        const record = session.state.getContainer(session.projectId, session.place.name);
        if (!record) throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `nothing to stop; see what runs with: mltoolbox status ${session.place.name}`);
        await pluginHooks.containerStop(session, { id: record.containerId, name: record.name }, 'stop');
        await reporter.task(`Stopping ${record.name}`, () => session.place.containers.stop(record.containerId));
        session.state.upsertContainer({ ...record, status: 'stopped' });
        return { target: session.place.name, container: record.name, action: 'stopped' as const };
      }),

    down: (target: string | undefined) =>
      withSession(target, async (session) => {
        const recorded = session.state.getContainer(session.projectId, session.place.name);
        const info = await projectContainer(session);
        if (!info) {
          await forwarder.closeAll(session);
          // Removed behind our back (docker rm -f): say so, never "removed".
          session.state.removeContainer(session.projectId, session.place.name);
          if (recorded) return { target: session.place.name, container: recorded.name, action: 'already-gone' as const, filesKept: session.workspaceSource };
          throw new UserError('NOT_CONNECTED', `this project has no dev container on ${session.place.name}`, `nothing to remove; see what runs with: mltoolbox status ${session.place.name}`);
        }
        await pluginHooks.containerStop(session, { id: info.id, name: info.name }, 'remove');
        await reporter.task(`Removing ${info.name} (your files stay)`, () => session.place.containers.remove(info.id));
        session.state.removeContainer(session.projectId, session.place.name);
        await forwarder.closeAll(session);
        return { target: session.place.name, container: info.name, action: 'removed' as const, filesKept: session.workspaceSource };
      }),
  };
}

export type ProjectCommands = ReturnType<typeof createProjectCommands>;
