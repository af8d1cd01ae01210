import { PassThrough, Readable, type Duplex } from 'node:stream';
import { EngineError, type ContainerInspectBody, type CreateContainerBody, type EngineClient, type EngineInfoBody, type LibpodCreateBody } from '../../../../src/services/containers/engine-client.ts';

interface FakeContainer {
  id: string;
  name: string;
  body: CreateContainerBody;
  /** Set when created through Podman's libpod API (body then holds only image and labels). */
  libpod?: LibpodCreateBody;
  status: 'created' | 'running' | 'exited' | 'paused';
  exitCode: number;
  logs: Buffer;
}

export interface FakeExec {
  cmd: string[];
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A multiplexed frame, as the engine sends non-TTY output. */
export function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/**
 * An in-memory Docker Engine behind the EngineClient seam: records every call
 * (so tests assert the exact request bodies) and lets a test script failures.
 */
export function createFakeEngine(options: { runtimes?: string[]; cdi?: boolean; images?: Record<string, string>; podman?: string } = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const containers = new Map<string, FakeContainer>();
  const images = new Map<string, string>(Object.entries(options.images ?? { 'img:1': 'sha256:aaa' }));
  let nextId = 1;
  const hooks: {
    /** Throw from start to simulate a failure (port busy, missing GPU driver). */
    onStart?: (container: FakeContainer) => void;
    /** Every call throws this (connection-level failures). */
    connectionError?: EngineError;
    exec?: (cmd: string[], stdin: string) => FakeExec | { stdout: string; stderr: string; exitCode: number };
    /** Execs never finish (until the connection is dropped). */
    execHangs?: boolean;
  } = {};

  const info: EngineInfoBody = {
    Runtimes: Object.fromEntries((options.runtimes ?? ['runc']).map((r) => [r, {}])),
    ...(options.cdi ? { CDISpecDirs: ['/etc/cdi'] } : {}),
  };

  function find(idOrName: string): FakeContainer {
    for (const c of containers.values()) if (c.id === idOrName || c.name === idOrName) return c;
    throw new EngineError(`No such container: ${idOrName}`, { statusCode: 404 });
  }

  function record(method: string, ...args: unknown[]): void {
    calls.push({ method, args });
    if (hooks.connectionError) throw hooks.connectionError;
  }

  const execs = new Map<string, { containerId: string; cmd: string[]; tty: boolean; result?: { exitCode: number } }>();

  const client: EngineClient = {
    async version() {
      record('version');
      // Podman's Docker-compatible API answers with its own version and names itself in Components.
      if (options.podman) return { Version: options.podman, ApiVersion: '1.41', Components: [{ Name: 'Podman Engine', Version: options.podman }] };
      return { Version: '27.0.0', ApiVersion: '1.46' };
    },
    async info() {
      record('info');
      return info;
    },
    async inspectImage(reference) {
      record('inspectImage', reference);
      const id = images.get(reference);
      if (!id) throw new EngineError(`No such image: ${reference}`, { statusCode: 404 });
      return { Id: id };
    },
    async removeImage(reference) {
      record('removeImage', reference);
      if (!images.delete(reference)) throw new EngineError(`No such image: ${reference}`, { statusCode: 404 });
    },
    async pullImage(reference) {
      record('pullImage', reference);
      if (reference.includes('missing')) return Readable.from([`{"error":"pull access denied for ${reference}"}\r\n`]);
      images.set(reference, 'sha256:pulled');
      return Readable.from([`{"status":"Pulling from library/x"}\r\n`, `{"status":"Download complete","id":"abc"}\r\n`]);
    },
    async listImages() {
      record('listImages');
      return [...new Set(images.values())].map((Id) => ({ Id }));
    },
    async saveImage(reference) {
      record('saveImage', reference);
      return Readable.from([Buffer.alloc(0)]);
    },
    async loadImage(archive) {
      record('loadImage');
      archive.resume();
      return Readable.from([`{"stream":"Loaded image"}\r\n`]);
    },
    async importImage(rootfs, options) {
      record('importImage', options);
      rootfs.resume();
      images.set(options.reference, 'sha256:imported');
      return Readable.from([`{"status":"sha256:imported"}\r\n`]);
    },
    async build(context, query) {
      record('build', query);
      context.resume();
      images.set(query.t, 'sha256:built');
      return Readable.from([`{"stream":"Step 1/1 : FROM x\\n"}\r\n`, `{"aux":{"ID":"sha256:built"}}\r\n`]);
    },
    async listContainers(query) {
      record('listContainers', query);
      return [...containers.values()]
        .filter((c) => query.filters.label.every((l) => {
          const [k, v] = l.split('=');
          return c.body.Labels[k!] === v;
        }))
        .map((c) => ({ Id: c.id, Names: [`/${c.name}`], Image: c.body.Image, State: c.status, Status: c.status, Labels: c.body.Labels }));
    },
    async createContainer(name, body) {
      record('createContainer', name, body);
      for (const c of containers.values()) if (c.name === name) throw new EngineError(`Conflict. The container name "/${name}" is already in use`, { statusCode: 409 });
      const id = `c${nextId++}`.padEnd(64, '0');
      containers.set(id, { id, name, body: structuredClone(body), status: 'created', exitCode: 0, logs: Buffer.alloc(0) });
      return { Id: id };
    },
    async createLibpodContainer(body) {
      record('createLibpodContainer', body);
      for (const c of containers.values()) if (c.name === body.name) throw new EngineError(`creating container storage: the container name "${body.name}" is already in use`, { statusCode: 500 });
      const id = `c${nextId++}`.padEnd(64, '0');
      containers.set(id, { id, name: body.name, body: { Image: body.image, Labels: { ...body.labels }, HostConfig: {} }, libpod: structuredClone(body), status: 'created', exitCode: 0, logs: Buffer.alloc(0) });
      return { Id: id, Warnings: [] };
    },
    async inspectContainer(idOrName) {
      record('inspectContainer', idOrName);
      const c = find(idOrName);
      const ports: Record<string, { HostIp: string; HostPort: string }[]> = {};
      let next = 40000;
      for (const [key, bindings] of Object.entries(c.body.HostConfig.PortBindings ?? {})) {
        if (c.status === 'running') ports[key] = bindings.map((b) => ({ HostIp: b.HostIp, HostPort: b.HostPort || String(next++) }));
      }
      return {
        Id: c.id,
        Name: `/${c.name}`,
        Image: images.get(c.body.Image) ?? 'sha256:gone',
        Config: { Image: c.body.Image, Labels: c.body.Labels, Tty: false },
        State: { Status: c.status, Running: c.status === 'running' || c.status === 'paused', Paused: c.status === 'paused', ExitCode: c.exitCode, StartedAt: '', FinishedAt: '' },
        NetworkSettings: { Ports: ports },
      } satisfies ContainerInspectBody;
    },
    async startContainer(id) {
      record('startContainer', id);
      const c = find(id);
      hooks.onStart?.(c);
      if (c.status !== 'exited' || c.exitCode === 0) c.status = 'running';
    },
    async unpauseContainer(id) {
      record('unpauseContainer', id);
      find(id).status = 'running';
    },
    async stopContainer(id) {
      record('stopContainer', id);
      const c = find(id);
      if (c.status !== 'running') throw new EngineError('container already stopped', { statusCode: 304 });
      c.status = 'exited';
    },
    async removeContainer(id) {
      record('removeContainer', id);
      containers.delete(find(id).id);
    },
    async containerLogs(id, query) {
      record('containerLogs', id, query);
      return Readable.from([find(id).logs]);
    },
    async createExec(id, body) {
      record('createExec', id, body);
      const c = find(id);
      if (c.status !== 'running') throw new EngineError(`Container ${id} is not running`, { statusCode: 409 });
      const execId = `e${nextId++}`;
      execs.set(execId, { containerId: c.id, cmd: body.Cmd, tty: body.Tty });
      return execId;
    },
    async startExec(execId, query) {
      record('startExec', execId, query);
      const exec = execs.get(execId)!;
      const input: Buffer[] = [];
      const output = new PassThrough();
      const duplex = Object.assign(output, {
        write(chunk: Buffer, callback?: () => void) {
          input.push(chunk);
          callback?.();
          return true;
        },
        end(callback?: () => void) {
          respond();
          callback?.();
          return duplex;
        },
      }) as unknown as Duplex;
      const respond = () => {
        const result = hooks.exec?.(exec.cmd, Buffer.concat(input).toString()) ?? { stdout: '', stderr: '', exitCode: 0 };
        exec.result = { exitCode: result.exitCode };
        if (result.stdout) output.push(exec.tty ? Buffer.from(result.stdout) : frame(1, result.stdout));
        if (result.stderr && !exec.tty) output.push(frame(2, result.stderr));
        output.push(null);
      };
      if (!query.stdin && !hooks.execHangs) setImmediate(respond);
      return duplex;
    },
    async inspectExec(execId) {
      record('inspectExec', execId);
      const exec = execs.get(execId)!;
      return { Running: exec.result === undefined, ExitCode: exec.result?.exitCode ?? null };
    },
    async resizeExec(execId, size) {
      record('resizeExec', execId, size);
    },
    async containerStats(id) {
      record('containerStats', id);
      return {
        cpu_stats: { cpu_usage: { total_usage: 300 }, system_cpu_usage: 2000, online_cpus: 4 },
        precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 1000 },
        memory_stats: { usage: 5000, limit: 10000, stats: { inactive_file: 1000 } },
      };
    },
  };

  return {
    client,
    calls,
    containers,
    images,
    hooks,
    info,
    callsTo: (method: string) => calls.filter((c) => c.method === method),
    lastLibpodBody: () => calls.filter((c) => c.method === 'createLibpodContainer').at(-1)?.args[0] as LibpodCreateBody | undefined,
    lastCreateBody: () => calls.filter((c) => c.method === 'createContainer').at(-1)?.args[1] as CreateContainerBody | undefined,
  };
}

export type FakeEngine = ReturnType<typeof createFakeEngine>;
