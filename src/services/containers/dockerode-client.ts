import { Readable, type Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { EngineError, type BuildQuery, type ContainerInspectBody, type ContainerStatsBody, type ContainerSummaryBody, type EngineClient, type EngineInfoBody } from './engine-client.ts';

/**
 * The EngineClient over dockerode. dockerode is loaded here, on first use,
 * with a dynamic import: commands that never touch Docker never load it.
 */
export async function createDockerodeClient(socketPath: string): Promise<EngineClient> {
  const { default: Docker } = await import('dockerode');
  const docker: Dockerode = new Docker({ socketPath });

  return {
    version: () => wrap(async () => {
      const v = await docker.version();
      const components = (v as { Components?: { Name: string; Version: string }[] }).Components;
      return { Version: v.Version, ApiVersion: v.ApiVersion, ...(components ? { Components: components.map((c) => ({ Name: c.Name, Version: c.Version })) } : {}) };
    }),
    info: () => wrap(async () => (await docker.info()) as EngineInfoBody),
    inspectImage: (reference) => wrap(async () => {
      const image = await docker.getImage(reference).inspect();
      return { Id: image.Id, Config: { User: image.Config?.User ?? '' }, RootFS: { Layers: image.RootFS?.Layers ?? [] } };
    }),
    listImages: () => wrap(async () => (await docker.listImages()).map((i) => ({ Id: i.Id }))),
    saveImage: (reference) => wrap(async () => (await docker.getImage(reference).get()) as unknown as Readable),
    loadImage: (archive) => wrap(async () => (await docker.loadImage(archive, { quiet: true })) as unknown as Readable),
    removeImage: (reference, options) => wrap(async () => void (await docker.getImage(reference).remove({ force: options.force }))),
    pullImage: (reference) => wrap(async () => (await docker.pull(reference)) as Readable),
    importImage: (rootfs, options) =>
      wrap(async () => {
        const [repo, tag] = splitReference(options.reference);
        // An array query value becomes repeated `changes=` parameters, as the API wants.
        return (await docker.importImage(rootfs, { repo, tag, changes: [...options.changes] })) as unknown as Readable;
      }),
    build: (context, query: BuildQuery) =>
      wrap(async () => {
        const { signal, ...rest } = query;
        const stream = await docker.buildImage(context, { ...rest, ...(signal ? { abortSignal: signal } : {}) } as Dockerode.ImageBuildOptions);
        return stream as Readable;
      }),
    listContainers: (options) => wrap(async () => (await docker.listContainers(options)) as unknown as ContainerSummaryBody[]),
    createContainer: (name, body) => wrap(async () => {
      const container = await docker.createContainer({ name, ...body } as Dockerode.ContainerCreateOptions);
      return { Id: container.id };
    }),
    createLibpodContainer: (body) => wrap(async () => {
      // Podman's own API on the same socket; /v4.0.0 is the oldest libpod API version Podman 4 and 5 serve.
      const answer: unknown = await new Promise((resolve, reject) => {
        docker.modem.dial({ path: '/v4.0.0/libpod/containers/create', method: 'POST', options: body, statusCodes: { 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'conflict', 500: 'server error' } }, (error, data) => (error ? reject(error) : resolve(data)));
      });
      const created = answer as { Id: string; Warnings?: string[] | null };
      return { Id: created.Id, Warnings: created.Warnings ?? [] };
    }),
    inspectContainer: (id) => wrap(async () => (await docker.getContainer(id).inspect()) as unknown as ContainerInspectBody),
    startContainer: (id) => wrap(async () => void (await docker.getContainer(id).start())),
    unpauseContainer: (id) => wrap(async () => void (await docker.getContainer(id).unpause())),
    stopContainer: (id, timeoutSeconds) => wrap(async () => void (await docker.getContainer(id).stop({ t: timeoutSeconds }))),
    // Never v: true. A recreate (config change) or `down` must not take the data in the
    // container's volumes (environment.volumes targets, an image's VOLUME) with it.
    removeContainer: (id, options) => wrap(async () => void (await docker.getContainer(id).remove({ force: options.force, v: false }))),
    containerLogs: (id, options) =>
      wrap(async () => {
        const container = docker.getContainer(id);
        const query = { stdout: true, stderr: true, timestamps: options.timestamps, ...(options.tail === undefined ? {} : { tail: options.tail }) };
        if (options.follow) return (await container.logs({ ...query, follow: true })) as unknown as Readable;
        // Without follow dockerode buffers the whole answer.
        const body: unknown = await container.logs({ ...query, follow: false });
        return Readable.from([Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))]);
      }),
    createExec: (id, body) => wrap(async () => (await docker.getContainer(id).exec(body)).id),
    startExec: (execId, options) =>
      wrap(async () => (await docker.getExec(execId).start({ hijack: true, stdin: options.stdin, Tty: options.tty })) as unknown as Duplex),
    inspectExec: (execId) => wrap(async () => {
      const state = await docker.getExec(execId).inspect();
      return { Running: state.Running, ExitCode: state.ExitCode };
    }),
    resizeExec: (execId, size) => wrap(async () => void (await docker.getExec(execId).resize(size))),
    containerStats: (id) => wrap(async () => (await docker.getContainer(id).stats({ stream: false })) as ContainerStatsBody),
  };
}

/** dockerode's errors -> EngineError: HTTP answers keep their status and the engine's own message. */
async function wrap<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toEngineError(error);
  }
}

export function toEngineError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  const e = error as { statusCode?: number; json?: unknown; message?: string; code?: string; reason?: string };
  if (typeof e?.statusCode === 'number') {
    const json = e.json as { message?: string } | Buffer | string | null | undefined;
    const message = json && typeof json === 'object' && !Buffer.isBuffer(json) && typeof json.message === 'string'
      ? json.message
      : (e.message ?? '').replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
    return new EngineError(message, { statusCode: e.statusCode, cause: error });
  }
  const errno = typeof e?.code === 'string' ? e.code : /socket hang up/i.test(e?.message ?? '') ? 'ESOCKETHANGUP' : undefined;
  return new EngineError(e?.message ?? String(error), { ...(errno ? { errno } : {}), cause: error });
}

/** `registry:5000/a/b:tag` -> ['registry:5000/a/b', 'tag'] (no tag: latest). */
export function splitReference(reference: string): [string, string] {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash ? [reference.slice(0, colon), reference.slice(colon + 1)] : [reference, 'latest'];
}
