import { PassThrough, Writable, type Duplex, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { packBuildContext } from './build-context.ts';
import { createBuildProgressParser } from './build-progress.ts';
import { createContainerBody, libpodCreateBody } from './create-body.ts';
import { createDemuxer } from './demux.ts';
import { dockerExecCommand } from './exec-command.ts';
import { EngineError, isEngineError, type ContainerInspectBody, type ContainerStatsBody, type CreateContainerBody, type EngineClient, type MountPointBody } from './engine-client.ts';
import { connectionLost, containerNotFound, containerNotRunning, imageNotFound, isPortBusyMessage, portBusy, toUserError, type EndpointDescription } from './errors.ts';
import {
  cdiDegradedWarning, cdiSpecMissing, engineHasGpuSupport, engineIdentity, gpuDegradedWarning, gpuRuntimeMissing, isMissingCdiSpecMessage, isMissingGpuDriverMessage, planGpus, type GpuPlan,
} from './gpu.ts';
import { configHash, containerLabels, LABEL } from './labels.ts';
import { chainIds } from './layers.ts';
import type {
  BuildResult, BuildSpec, ContainerInfo, ContainerManager, ContainerStats, MountPoint, ContainerSpec, ContainerState, ContainerSummary, EngineInfo, EnsureAction, EnsureOptions,
  EnsureResult, ExecOptions, ExecResult, ExecSession, LogsOptions, OutputChunk, PublishedPort, StreamingExecOptions,
} from './types.ts';

export interface DockerManagerOptions {
  client: EngineClient;
  endpoint: EndpointDescription;
  /** Stored as a label: a container made by another mltoolbox version is recreated. */
  toolVersion: string;
  reporter?: Reporter;
  /** How long a fresh container must stay up to count as started. Default 300 ms. */
  settleMs?: number;
  /** Bound on ping(). Default 10 s. */
  pingTimeoutMs?: number;
  /** interactiveCommand's `docker -H`: the engine is not at the CLI's default socket (Podman, a second engine). */
  cliSocket?: string;
}

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const LOG_LINES_ON_FAILURE = 20;

interface ProgressEvent {
  status?: string;
  id?: string;
  progress?: string;
  stream?: string;
  error?: string;
}

/** A ContainerManager speaking the Docker Engine API through an EngineClient. */
export function createDockerManager(options: DockerManagerOptions): ContainerManager {
  const { client, endpoint, toolVersion } = options;
  const settleMs = options.settleMs ?? 300;
  const debug = (message: string) => options.reporter?.debug(message);

  /** Runs one engine call, turning connection failures into user errors. */
  function pullFailed(reference: string, reason: string): UserError {
    return new UserError('IMAGE_NOT_FOUND', `could not pull ${reference} ${endpoint.where}: ${reason.trim().split('\n')[0]}`,
      `check the image name and that the host reaches its registry (docker pull ${reference} there shows the same), log in if it is private (docker login), or build your own: environment.dockerfile in mltoolbox.yaml`);
  }

  async function call<T>(doing: string, work: () => Promise<T>, handle?: (error: EngineError) => { value: T } | undefined): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (handle && error instanceof EngineError) {
        const handled = handle(error);
        if (handled) return handled.value;
      }
      throw toUserError(error, endpoint, doing);
    }
  }

  /** Reads an engine JSON progress stream (pull, import, load) to its end; resolves with its `error`, if any. */
  async function readProgressStream(stream: Readable, doing: string, onEvent: (event: ProgressEvent) => void): Promise<string | undefined> {
    let failure: string | undefined;
    let buffered = '';
    const consume = (text: string) => {
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          const event = JSON.parse(line) as ProgressEvent;
          if (event.error) failure = event.error;
          else onEvent(event);
        } catch {
          // A partial line: the next chunk completes it.
        }
      }
    };
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (data: Buffer) => {
        buffered += data.toString();
        const end = buffered.lastIndexOf('\n');
        if (end >= 0) {
          consume(buffered.slice(0, end));
          buffered = buffered.slice(end + 1);
        }
      });
      let ended = false;
      stream.once('error', (error) => reject(toUserError(error, endpoint, doing)));
      stream.once('end', () => {
        ended = true;
        resolve();
      });
      // Closed without its end (the tunnel died): otherwise this would wait forever.
      stream.once('close', () => ended || reject(connectionLost(endpoint, doing)));
    });
    consume(buffered);
    return failure;
  }

  /** For calls on an existing container: 404 and 409 mean something to the user. */
  function containerCall<T>(id: string, doing: string, work: () => Promise<T>): Promise<T> {
    return call(doing, work, (error) => {
      if (error.statusCode === 404) throw containerNotFound(id, error);
      if (error.statusCode === 409 && /not running|is paused|is restarting/i.test(error.message)) throw containerNotRunning(id, error);
      return undefined;
    });
  }

  async function findContainer(id: string): Promise<ContainerInspectBody | undefined> {
    return call<ContainerInspectBody | undefined>(`inspecting ${id}`, () => client.inspectContainer(id), (e) => (e.statusCode === 404 ? { value: undefined } : undefined));
  }

  // Found image ids, remembered for this manager's life (one command): connect asks
  // before building and again when creating. build/pull/removeImage forget theirs.
  const knownImages = new Map<string, { id: string; user: string }>();

  async function imageId(reference: string): Promise<string | undefined> {
    return (await imageConfig(reference))?.id;
  }

  async function imageConfig(reference: string): Promise<{ id: string; user: string } | undefined> {
    const known = knownImages.get(reference);
    if (known) return known;
    const image = await call<{ Id: string; Config?: { User?: string } | null } | undefined>(`inspecting image ${reference}`, () => client.inspectImage(reference), (e) => (e.statusCode === 404 ? { value: undefined } : undefined));
    if (!image) return undefined;
    const config = { id: image.Id, user: image.Config?.User ?? '' };
    knownImages.set(reference, config);
    return config;
  }

  async function lastLogLines(id: string, lines: number): Promise<string[]> {
    const text: string[] = [];
    try {
      await readLogs(id, { tail: lines }, (chunk) => text.push(chunk.data.toString()));
    } catch {
      return []; // the report is best effort; the original failure matters more
    }
    return text.join('').split('\n').filter((line) => line.trim() !== '').slice(-lines);
  }

  async function readLogs(id: string, opts: LogsOptions, onChunk: (chunk: OutputChunk) => void): Promise<void> {
    const container = await findContainer(id);
    if (!container) throw containerNotFound(id);
    const stream = await containerCall(id, `reading logs of ${id}`, () =>
      client.containerLogs(id, { follow: opts.follow ?? false, timestamps: opts.timestamps ?? false, ...(opts.tail === undefined ? {} : { tail: opts.tail }) }),
    );
    const tty = container.Config.Tty === true;
    const demuxer = createDemuxer(onChunk);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        stream.destroy();
        resolve();
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (data: Buffer) => (tty ? onChunk({ stream: 'stdout', data }) : demuxer.push(data)));
      stream.once('error', (error) => (opts.signal?.aborted ? resolve() : reject(toUserError(error, endpoint, `reading logs of ${id}`))));
      stream.once('end', () => {
        opts.signal?.removeEventListener('abort', onAbort);
        demuxer.end();
        resolve();
      });
    });
  }

  async function startAndSettle(name: string, id: string, created: boolean): Promise<void> {
    try {
      await client.startContainer(id);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A container we just created and could not start is useless; one the user had stays for inspection.
      if (created) await client.removeContainer(id, { force: true }).catch(() => {});
      if (isPortBusyMessage(message)) throw portBusy(message, error);
      if (isEngineError(error) && error.statusCode !== undefined) {
        if (isMissingGpuDriverMessage(message) || isMissingCdiSpecMessage(message)) throw new GpuDriverMissing(message, error);
        throw new UserError('CONTAINER_START_FAILED', `container ${name} did not start: ${message.trim()}`, 'fix the setting the engine names (command, mounts, user); docker inspect shows the full configuration', {
          data: { container: name },
          cause: error,
        });
      }
      throw toUserError(error, endpoint, `starting ${name}`);
    }
    if (settleMs > 0) await delay(settleMs);
    const state = await findContainer(id);
    if (state?.State.Running) return;
    const lines = await lastLogLines(id, LOG_LINES_ON_FAILURE);
    const exitCode = state?.State.ExitCode;
    throw new UserError(
      'CONTAINER_EXITED',
      `container ${name} exited right after starting${exitCode === undefined ? '' : ` (exit code ${exitCode})`}${lines.length ? '; its last output:' : ' without output'}`,
      `its main command must keep running (a dev container usually runs sleep infinity); see the full output with: docker logs ${name}`,
      { details: lines, data: { container: name, ...(exitCode === undefined ? {} : { exitCode }) } },
    );
  }

  /** What to do about a refused create; a missing bind source is the project folder not synced yet (connect --skip-sync on a new host) or a volume's. */
  function createRefusedHint(message: string): string {
    const missing = /bind source path does not exist: (\S+)/.exec(message)?.[1];
    if (!missing) return 'fix the setting the engine names';
    return `${missing} does not exist on the engine's host: if it is the project folder, sync it first (connect without --skip-sync, or mltoolbox sync); if it is in environment.volumes, create it there or fix the path`;
  }

  async function createAndStart(spec: ContainerSpec, body: CreateContainerBody, plan: GpuPlan): Promise<{ id: string; warnings: string[] }> {
    // CDI devices (Podman only) go through Podman's own API, which takes them from 4.1 (its Docker API only from 5.5).
    const cdi = body.HostConfig.DeviceRequests?.some((r) => r.Driver === 'cdi') ?? false;
    const create = () => (cdi ? client.createLibpodContainer(libpodCreateBody(spec.name, body)) : client.createContainer(spec.name, body));
    const created = await call(`creating ${spec.name}`, create, (error) => {
      // Podman may check CDI names already when creating: the same outcome as at start.
      if (isMissingCdiSpecMessage(error.message)) throw new GpuDriverMissing(error.message, error);
      // Podman's libpod API answers a taken name with 500 (its Docker API with 409).
      if (error.statusCode === 409 || /container name .* is already in use/i.test(error.message)) {
        throw new UserError('CONTAINER_NAME_CONFLICT', `a container named ${spec.name} already exists`, 'another mltoolbox run created it at the same moment: run the command again, it will use that container (do not remove it: the other run is using it)', { cause: error });
      }
      if (error.statusCode === 404) throw imageNotFound(spec.image, endpoint.where);
      if (error.statusCode === 400 || error.statusCode === 500) {
        throw new UserError('CONTAINER_START_FAILED', `the Docker Engine ${endpoint.where} refused to create ${spec.name}: ${error.message.trim()}`, createRefusedHint(error.message), { cause: error });
      }
      return undefined;
    }).catch((error: unknown) => {
      if (error instanceof GpuDriverMissing) return error;
      throw error;
    });
    if (created instanceof GpuDriverMissing) return startWithoutGpus(spec, body, plan.warnings, created);
    const warnings = [...plan.warnings, ...(created.Warnings ?? []).filter(Boolean)];
    debug(`created container ${spec.name} (${created.Id.slice(0, 12)})`);
    try {
      await startAndSettle(spec.name, created.Id, true);
      return { id: created.Id, warnings };
    } catch (error) {
      if (!(error instanceof GpuDriverMissing)) throw error;
      return startWithoutGpus(spec, body, warnings, error);
    }
  }

  /**
   * The engine looked GPU-ready but could not hand the GPUs out (no driver for
   * --gpus; no CDI spec naming the devices): required fails with the fix for that
   * engine, optional starts again without GPUs and says why.
   */
  async function startWithoutGpus(spec: ContainerSpec, body: CreateContainerBody, warnings: string[], error: GpuDriverMissing): Promise<{ id: string; warnings: string[] }> {
    const cdi = body.HostConfig.DeviceRequests?.filter((r) => r.Driver === 'cdi').flatMap((r) => r.DeviceIDs ?? []) ?? [];
    const cdiMissing = isMissingCdiSpecMessage(error.message);
    if (spec.gpus?.mode !== 'optional') throw cdiMissing ? cdiSpecMissing(endpoint.where, cdi, error.cause) : gpuRuntimeMissing(endpoint.where, error.cause);
    const withoutGpus = { ...body, HostConfig: { ...body.HostConfig } };
    delete withoutGpus.HostConfig.DeviceRequests;
    const retried = await createAndStart(spec, withoutGpus, { deviceRequests: [], warnings: [] });
    return { id: retried.id, warnings: [...warnings, cdiMissing ? cdiDegradedWarning(endpoint.where) : gpuDegradedWarning(endpoint.where), ...retried.warnings] };
  }

  async function ensureContainer(spec: ContainerSpec, ensureOptions: EnsureOptions = {}): Promise<EnsureResult> {
    validateSpec(spec);
    const wantsGpus = spec.gpus !== undefined && spec.gpus.mode !== 'none';
    // Independent reads, sent together: one round trip to a remote engine instead of three.
    const [image, info, version, existing] = await Promise.all([
      imageId(spec.image),
      wantsGpus ? call('reading engine info', () => client.info()) : Promise.resolve({}),
      wantsGpus ? call('reading the engine version', () => client.version()) : Promise.resolve(undefined),
      findContainer(spec.name),
    ]);
    if (!image) throw imageNotFound(spec.image, endpoint.where);
    const plan = planGpus(spec.gpus, info, endpoint.where, version && engineIdentity(version));
    const hash = configHash(createContainerBody({ spec, labels: spec.labels ?? {}, deviceRequests: plan.deviceRequests }), image, Object.keys(spec.secretEnv ?? {}));
    const labels = containerLabels({ project: spec.project, configHash: hash, toolVersion, extra: spec.labels });
    const body = createContainerBody({ spec, labels, deviceRequests: plan.deviceRequests });

    const finish = async (id: string, action: EnsureAction, warnings: string[], reason?: string): Promise<EnsureResult> => {
      const state = action === 'reused' ? existing : await findContainer(id);
      debug(`container ${spec.name}: ${action}${reason ? ` (${reason})` : ''}`);
      return { id, name: spec.name, action, configHash: hash, warnings, ports: state ? publishedPorts(state) : [], ...(reason ? { reason } : {}) };
    };

    if (!existing) {
      const { id, warnings } = await createAndStart(spec, body, plan);
      return finish(id, 'created', warnings);
    }
    const existingLabels = existing.Config.Labels ?? {};
    if (existingLabels[LABEL.project] !== spec.project) {
      throw new UserError(
        'CONTAINER_NAME_CONFLICT',
        `a container named ${spec.name} exists but does not belong to project ${spec.project}`,
        `mltoolbox will not touch it: rename the project, or remove it yourself (docker rm -f ${spec.name})`,
        { data: { container: spec.name, ...(existingLabels[LABEL.project] ? { project: existingLabels[LABEL.project] } : {}) } },
      );
    }
    const reason = recreateReason(existing, hash, toolVersion, ensureOptions.force === true);
    if (reason) {
      await call(`removing ${spec.name}`, () => client.removeContainer(existing.Id, { force: true }), (e) => (e.statusCode === 404 ? { value: undefined } : undefined));
      const { id, warnings } = await createAndStart(spec, body, plan);
      return finish(id, 'recreated', warnings, reason);
    }
    if (existing.State.Running && !existing.State.Paused) return finish(existing.Id, 'reused', plan.warnings);
    if (existing.State.Paused) {
      await containerCall(spec.name, `unpausing ${spec.name}`, () => client.unpauseContainer(existing.Id));
    } else {
      await startAndSettle(spec.name, existing.Id, false);
    }
    return finish(existing.Id, 'started', plan.warnings);
  }

  async function startExec(id: string, argv: readonly string[], opts: StreamingExecOptions = {}): Promise<ExecSession> {
    if (argv.length === 0) throw new UserError('CONTAINER_SPEC_INVALID', 'exec needs a command', 'pass the command and its arguments');
    const tty = opts.tty === true;
    const interactive = opts.interactive === true;
    const execId = await containerCall(id, `running ${argv[0]} in ${id}`, () =>
      client.createExec(id, {
        Cmd: [...argv],
        ...(opts.env ? { Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) } : {}),
        ...(opts.user ? { User: opts.user } : {}),
        ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
        Tty: tty,
        AttachStdin: interactive,
        AttachStdout: true,
        AttachStderr: true,
      }),
    );
    const connection = await containerCall(id, `running ${argv[0]} in ${id}`, () => client.startExec(execId, { tty, stdin: interactive }));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const demuxer = createDemuxer((chunk) => (chunk.stream === 'stderr' ? stderr : stdout).write(chunk.data));
    connection.on('data', (data: Buffer) => (tty ? stdout.write(data) : demuxer.push(data)));
    const closed = new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        demuxer.end();
        stdout.end();
        stderr.end();
        if (error) reject(toUserError(new EngineError(error.message, { errno: (error as NodeJS.ErrnoException).code ?? 'ECONNRESET', cause: error }), endpoint, `running ${argv[0]} in ${id}`));
        else resolve();
      };
      connection.once('end', () => finish());
      connection.once('close', () => finish());
      connection.once('error', (error: Error) => finish(error));
    });
    if (tty && opts.size) await resizeExec(execId, opts.size).catch(() => {});
    const done = closed.then(() => exitCodeOf(execId));
    done.catch(() => {}); // callers may await it late; the rejection is theirs to see then
    return {
      stdin: interactive ? stdinFor(connection) : undefined,
      stdout,
      stderr,
      resize: (size) => resizeExec(execId, size),
      detach: () => connection.destroy(),
      done,
    };
  }

  function resizeExec(execId: string, size: { columns: number; rows: number }): Promise<void> {
    return call('resizing the terminal', () => client.resizeExec(execId, { h: size.rows, w: size.columns }));
  }

  /** The exit code, once the engine has recorded it (it may lag the stream's end briefly). */
  async function exitCodeOf(execId: string): Promise<{ exitCode: number }> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const state = await call('reading the exit code', () => client.inspectExec(execId));
      if (!state.Running && state.ExitCode !== null) return { exitCode: state.ExitCode };
      await delay(20);
    }
    throw new UserError('DOCKER_ENGINE_ERROR', 'the Docker Engine did not report the exit code of a finished command', 'run it again; docker info shows the engine state');
  }

  async function exec(id: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const session = await startExec(id, argv, {
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.workdir ? { workdir: opts.workdir } : {}),
      tty: opts.tty === true,
      interactive: opts.stdin !== undefined,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    session.stdout.on('data', (d: Buffer) => out.push(d));
    session.stderr.on('data', (d: Buffer) => err.push(d));
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        session.detach();
        reject(new UserError('INTERRUPTED', `stopped waiting for ${argv[0]} in ${id}`, 'it may still run in the container; run the command again to see its result'));
      };
    });
    aborted.catch(() => {});
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (session.stdin) session.stdin.end(opts.stdin);
    try {
      const { exitCode } = await Promise.race([session.done, aborted]);
      return { exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    async ping() {
      const pingTimeoutMs = options.pingTimeoutMs ?? 10_000;
      const timer = new AbortController();
      const timeout = delay(pingTimeoutMs, undefined, { signal: timer.signal }).then(() => {
        throw new UserError('DOCKER_UNREACHABLE', `the Docker Engine ${endpoint.where} did not answer within ${pingTimeoutMs / 1000} s`, 'check Docker is running: docker info (on the host)', {
          data: { socketPath: endpoint.socketPath },
        });
      });
      timeout.catch(() => {});
      try {
        const [version, info] = await Promise.race([call('answering a ping', () => Promise.all([client.version(), client.info()])), timeout]);
        return { version: version.Version, apiVersion: version.ApiVersion, runtimes: Object.keys(info.Runtimes ?? {}).sort(), gpuReady: engineHasGpuSupport(info) } satisfies EngineInfo;
      } finally {
        timer.abort();
      }
    },

    async build(spec: BuildSpec, onProgress?: (line: string) => void): Promise<BuildResult> {
      knownImages.delete(spec.tag);
      const context = await packBuildContext({ context: spec.context, ...(spec.dockerfile ? { dockerfile: spec.dockerfile } : {}) });
      const parser = createBuildProgressParser((line) => onProgress?.(line));
      const failed = (reason: string, tail: string[], cause?: unknown) =>
        new UserError('IMAGE_BUILD_FAILED', `building ${spec.tag} failed: ${reason}`, 'fix the Dockerfile step shown above and run again; the last output lines are listed', {
          details: tail,
          data: { image: spec.tag },
          cause,
        });
      const response = await call(`building ${spec.tag}`, () =>
        client.build(context.stream, {
          t: spec.tag,
          dockerfile: context.dockerfile,
          rm: true,
          forcerm: true,
          ...(spec.args ? { buildargs: spec.args } : {}),
          ...(spec.target ? { target: spec.target } : {}),
          ...(spec.labels ? { labels: spec.labels } : {}),
          ...(spec.noCache ? { nocache: true } : {}),
          ...(spec.signal ? { signal: spec.signal } : {}),
        }),
        (error) => {
          if (error.statusCode !== undefined) throw failed(error.message.trim(), []);
          return undefined;
        },
      );
      await new Promise<void>((resolve, reject) => {
        let ended = false;
        response.on('data', (data: Buffer) => parser.push(data));
        response.once('error', (error) => reject(toUserError(error, endpoint, `building ${spec.tag}`)));
        response.once('end', () => {
          ended = true;
          resolve();
        });
        // Closed without its end (the tunnel died): otherwise this would wait forever.
        response.once('close', () => ended || reject(connectionLost(endpoint, `building ${spec.tag}`)));
      });
      const outcome = parser.end();
      if (outcome.error) {
        const step = outcome.step ? ` at ${outcome.step}` : '';
        throw failed(`${outcome.error}${step ? ` (${step.trim()})` : ''}`, outcome.tail);
      }
      const id = await imageId(spec.tag);
      if (!id) throw failed('the engine reported no image', outcome.tail);
      return { imageId: id, tag: spec.tag };
    },

    imageId,
    imageConfig,

    async pull(reference, onProgress) {
      knownImages.delete(reference);
      const stream = await call(`pulling ${reference}`, () => client.pullImage(reference), (error) => {
        // Any engine answer (unknown image, denied, registry unreachable) is about the pull itself.
        if (error.statusCode !== undefined) throw pullFailed(reference, error.message);
        return undefined;
      });
      const failure = await readProgressStream(stream, `pulling ${reference}`, (event) => {
        if (event.status) onProgress?.([event.id, event.status, event.progress].filter(Boolean).join(' '));
      });
      if (failure) throw pullFailed(reference, failure);
      const id = await imageId(reference);
      if (!id) throw pullFailed(reference, 'the engine reported no image after the pull');
      return { imageId: id };
    },

    async importImage(rootfs, reference, importOptions = {}) {
      knownImages.delete(reference);
      const failed = (reason: string, cause?: unknown) =>
        new UserError('IMAGE_BUILD_FAILED', `importing ${reference} ${endpoint.where} failed: ${reason.trim().split('\n')[0]}`,
          'read the reason above; the root filesystem tar may be incomplete (the command that made it failed?)', { data: { image: reference }, cause });
      const stream = await call(`importing ${reference}`, () => client.importImage(rootfs, { reference, changes: importOptions.changes ?? [] }), (error) => {
        if (error.statusCode !== undefined) throw failed(error.message, error);
        return undefined;
      });
      const failure = await readProgressStream(stream, `importing ${reference}`, () => {});
      if (failure) throw failed(failure);
      const id = await imageId(reference);
      if (!id) throw failed('the engine reported no image after the import');
      return { imageId: id };
    },

    saveImage: (reference) => call(`saving ${reference}`, () => client.saveImage(reference), (error) => {
      if (error.statusCode === 404) throw imageNotFound(reference, endpoint.where);
      return undefined;
    }),

    async loadImage(archive) {
      knownImages.clear();
      const failed = (reason: string) => new UserError('IMAGE_TRANSFER_FAILED', `loading an image into the Docker Engine ${endpoint.where} failed: ${reason.trim().split('\n')[0]}`,
        'check free disk space on the host (df -h /var/lib/docker) and that the engine runs; then run the command again', { data: { socketPath: endpoint.socketPath } });
      const stream = await call('loading an image', () => client.loadImage(archive), (error) => {
        if (error.statusCode !== undefined) throw failed(error.message);
        return undefined;
      });
      const failure = await readProgressStream(stream, 'loading an image', () => {});
      if (failure) throw failed(failure);
    },

    async layerChains() {
      const images = await call('listing images', () => client.listImages());
      const chains = new Set<string>();
      // A few requests at a time: a host may hold hundreds of images.
      for (let i = 0; i < images.length; i += 8) {
        const batch = await Promise.all(images.slice(i, i + 8).map((image) =>
          call<{ RootFS?: { Layers?: string[] } } | undefined>(`inspecting image ${image.Id}`, () => client.inspectImage(image.Id), (e) => (e.statusCode === 404 ? { value: undefined } : undefined))));
        for (const found of batch) for (const chain of chainIds(found?.RootFS?.Layers ?? [])) chains.add(chain);
      }
      return chains;
    },

    async removeImage(reference, removeOptions = {}) {
      knownImages.clear(); // an id may be known under several tags
      await call(`removing image ${reference}`, () => client.removeImage(reference, { force: removeOptions.force === true }), (e) => {
        if (e.statusCode === 404) return { value: undefined };
        if (e.statusCode === 409) {
          throw new UserError('DOCKER_ENGINE_ERROR', `image ${reference} is in use: ${e.message.trim()}`, 'remove the containers using it first (mltoolbox down), or force it', { cause: e });
        }
        return undefined;
      });
    },

    ensureContainer,
    exec,
    startExec,

    async interactiveCommand(id, argv, exec) {
      return dockerExecCommand(options.cliSocket, id, argv, exec);
    },
    logs: readLogs,

    async stop(id, stopOptions = {}) {
      await call(`stopping ${id}`, () => client.stopContainer(id, stopOptions.timeoutSeconds ?? 10), (e) => (e.statusCode === 404 || e.statusCode === 304 ? { value: undefined } : undefined));
    },

    async remove(id) {
      await call(`removing ${id}`, () => client.removeContainer(id, { force: true }), (e) => (e.statusCode === 404 ? { value: undefined } : undefined));
    },

    async inspect(id) {
      const body = await findContainer(id);
      return body && toContainerInfo(body);
    },

    async list(filter = {}) {
      const label = [`${LABEL.managed}=true`];
      if (filter.project) label.push(`${LABEL.project}=${filter.project}`);
      for (const [key, value] of Object.entries(filter.labels ?? {})) label.push(`${key}=${value}`);
      const containers = await call('listing containers', () => client.listContainers({ all: true, filters: { label } }));
      return containers.map(
        (c): ContainerSummary => ({
          id: c.Id,
          name: (c.Names[0] ?? '').replace(/^\//, ''),
          image: c.Image,
          state: c.State as ContainerState,
          status: c.Status,
          project: c.Labels?.[LABEL.project],
          configHash: c.Labels?.[LABEL.configHash],
          labels: c.Labels ?? {},
          mounts: mountPoints(c.Mounts),
          created: c.Created === undefined ? '' : new Date(c.Created * 1000).toISOString(),
        }),
      );
    },

    async stats(id) {
      const body = await containerCall(id, `reading the load of ${id}`, () => client.containerStats(id));
      return statsFrom(body);
    },
  };
}

/** Raised inside createAndStart when the engine has no GPU driver after all; turned into a retry or GPU_RUNTIME_MISSING. */
class GpuDriverMissing extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

function validateSpec(spec: ContainerSpec): void {
  if (!CONTAINER_NAME.test(spec.name)) {
    throw new UserError('CONTAINER_SPEC_INVALID', `${JSON.stringify(spec.name)} is not a valid container name`, 'use letters, digits, _, . and -, starting with a letter or digit');
  }
  if (spec.project.trim() === '') throw new UserError('CONTAINER_SPEC_INVALID', 'the container spec has no project', 'set the project name (project.name)');
  for (const port of spec.ports ?? []) {
    for (const value of [port.container, port.host ?? 0]) {
      if (!Number.isInteger(value) || value < 0 || value > 65535 || (value === 0 && value === port.container)) {
        throw new UserError('CONTAINER_SPEC_INVALID', `port ${value} is out of range`, 'use ports between 1 and 65535');
      }
    }
  }
}

function recreateReason(existing: ContainerInspectBody, hash: string, toolVersion: string, force: boolean): string | undefined {
  const labels = existing.Config.Labels ?? {};
  if (force) return 'forced';
  if (labels[LABEL.configHash] !== hash) return 'the configuration changed';
  if (labels[LABEL.version] !== toolVersion) return `created by mltoolbox ${labels[LABEL.version] ?? '(unknown)'}, this is ${toolVersion}`;
  if (existing.State.Status === 'dead' || existing.State.Status === 'removing') return `it is ${existing.State.Status}`;
  return undefined;
}

function publishedPorts(body: ContainerInspectBody): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const [key, bindings] of Object.entries(body.NetworkSettings?.Ports ?? {})) {
    const [port, protocol] = key.split('/');
    for (const binding of bindings ?? []) {
      out.push({ container: Number(port), protocol: protocol === 'udp' ? 'udp' : 'tcp', hostIp: binding.HostIp, host: Number(binding.HostPort) });
    }
  }
  return out.sort((a, b) => a.container - b.container || a.host - b.host);
}

function toContainerInfo(body: ContainerInspectBody): ContainerInfo {
  const labels = body.Config.Labels ?? {};
  return {
    id: body.Id,
    name: body.Name.replace(/^\//, ''),
    image: body.Config.Image,
    imageId: body.Image,
    state: body.State.Status as ContainerState,
    status: body.State.Status,
    running: body.State.Running,
    exitCode: body.State.ExitCode,
    startedAt: body.State.StartedAt,
    finishedAt: body.State.FinishedAt,
    project: labels[LABEL.project],
    configHash: labels[LABEL.configHash],
    labels,
    ports: publishedPorts(body),
    mounts: mountPoints(body.Mounts),
    created: '',
    workdir: body.Config.WorkingDir ?? '',
    user: body.Config.User ?? '',
  };
}

function mountPoints(mounts: readonly MountPointBody[] | undefined): MountPoint[] {
  return (mounts ?? []).map((m) => ({ type: m.Type, source: m.Source, destination: m.Destination }));
}

/** CPU and memory the way `docker stats` computes them from one /stats answer. */
export function statsFrom(body: ContainerStatsBody): ContainerStats {
  const cpu = body.cpu_stats;
  const pre = body.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus ?? 1;
  const cpuPercent = pre?.system_cpu_usage && systemDelta > 0 ? Math.round((cpuDelta / systemDelta) * cpus * 1000) / 10 : null;
  const memory = body.memory_stats;
  const cache = memory?.stats?.inactive_file ?? memory?.stats?.total_inactive_file ?? 0;
  return {
    cpuPercent,
    memoryBytes: memory?.usage === undefined ? null : Math.max(0, memory.usage - cache),
    memoryLimitBytes: memory?.limit ?? null,
  };
}

/** stdin for an interactive exec: end() half-closes the connection so the command sees EOF. */
function stdinFor(connection: Duplex): Writable {
  return new Writable({
    // Finishing stdin must not tear down the connection: the output still flows back on it.
    autoDestroy: false,
    write(chunk: Buffer, _encoding, callback) {
      connection.write(chunk, callback);
    },
    final(callback) {
      const socket = connection as Duplex & { end(cb?: () => void): void };
      socket.end(() => callback());
    },
    destroy(error, callback) {
      connection.destroy(error ?? undefined);
      callback(error);
    },
  });
}
