import { request, type IncomingMessage } from 'node:http';
import { createFrameReader, DOCKER_FRAME_LAYOUT } from '../../core/frames.ts';
import type { ContainerInfo } from '../../relay/protocol.ts';

/**
 * The few Docker Engine API calls the daemon needs, over the local socket
 * with node:http (the agent ships as one executable: no dockerode, no
 * native modules). Only containers labelled `mltoolbox.managed=true` are
 * ever listed or touched — the labels connect puts on what it creates.
 */
export const MANAGED_LABEL = 'mltoolbox.managed';
export const PROJECT_LABEL = 'mltoolbox.project';
const API = '/v1.41';

export interface DockerSocket {
  socketPath: string;
}

export function dockerSocket(env: NodeJS.ProcessEnv): DockerSocket {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  return { socketPath: '/var/run/docker.sock' };
}

export class DockerApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function call(docker: DockerSocket, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      socketPath: docker.socketPath, method, path: `${API}${path}`,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      ...(signal ? { signal } : {}),
    }, resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

async function readAll(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function json<T>(docker: DockerSocket, method: string, path: string, body?: unknown): Promise<T> {
  const response = await call(docker, method, path, body);
  const text = (await readAll(response)).toString('utf8');
  if ((response.statusCode ?? 500) >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch { /* plain text */ }
    throw new DockerApiError(response.statusCode ?? 500, message.trim());
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

interface ApiContainer {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Created: number;
  Labels: Record<string, string>;
  Ports: { PrivatePort: number; PublicPort?: number; IP?: string; Type: string }[];
}

export async function listManagedContainers(docker: DockerSocket): Promise<ContainerInfo[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${MANAGED_LABEL}=true`] }));
  const containers = await json<ApiContainer[]>(docker, 'GET', `/containers/json?all=1&filters=${filters}`);
  return containers.map((c) => ({
    id: c.Id.slice(0, 12),
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    project: c.Labels[PROJECT_LABEL] ?? '',
    image: c.Image,
    state: c.State,
    status: c.Status,
    createdAt: c.Created * 1000,
    ports: c.Ports.map((p) => ({ containerPort: p.PrivatePort, protocol: p.Type, ...(p.IP ? { hostIp: p.IP } : {}), ...(p.PublicPort ? { hostPort: p.PublicPort } : {}) })),
  })).sort((a, b) => a.name.localeCompare(b.name));
}

/** A name or id from the relay, resolved among this host's mltoolbox containers only. */
export async function findManagedContainer(docker: DockerSocket, ref: string): Promise<{ id: string; tty: boolean } | undefined> {
  const managed = await listManagedContainers(docker);
  const hit = managed.find((c) => c.name === ref || (ref.length >= 6 && c.id.startsWith(ref.slice(0, 12))));
  if (!hit) return undefined;
  const inspect = await json<{ Id: string; Config: { Tty: boolean; Labels: Record<string, string> } }>(docker, 'GET', `/containers/${encodeURIComponent(hit.id)}/json`);
  if (inspect.Config.Labels[MANAGED_LABEL] !== 'true') return undefined;
  return { id: inspect.Id, tty: inspect.Config.Tty };
}

/**
 * Docker's stream framing for a container without a TTY: 8-byte headers
 * (stream, 0, 0, 0, size as uint32 BE) before each payload. Frames may
 * arrive split across chunks; the decoder keeps what it has not used.
 */
export function createDemuxer(onPayload: (payload: Buffer, stream: number) => void): (chunk: Buffer) => void {
  const reader = createFrameReader(DOCKER_FRAME_LAYOUT, (stream, payload) => onPayload(payload, stream));
  return (chunk) => reader.push(chunk);
}

/** Splits a byte stream into lines (the last, unfinished one waits for more). */
export function createLineSplitter(onLines: (lines: string[]) => void): { push(chunk: Buffer): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      if (lines.length) onLines(lines.map((l) => l.replace(/\r$/, '')));
    },
    flush() {
      if (rest !== '') onLines([rest]);
      rest = '';
    },
  };
}

/** Streams a container's log lines (stdout and stderr) until it ends or the signal aborts. */
export async function streamLogs(docker: DockerSocket, container: { id: string; tty: boolean }, options: { tail: number; follow: boolean; signal: AbortSignal; onLines: (lines: string[]) => void }): Promise<void> {
  const query = `stdout=1&stderr=1&tail=${options.tail}&follow=${options.follow ? 1 : 0}`;
  const response = await call(docker, 'GET', `/containers/${encodeURIComponent(container.id)}/logs?${query}`, undefined, options.signal);
  if ((response.statusCode ?? 500) >= 400) throw new DockerApiError(response.statusCode ?? 500, (await readAll(response)).toString('utf8').trim());
  const splitter = createLineSplitter(options.onLines);
  const feed = container.tty ? (chunk: Buffer) => splitter.push(chunk) : createDemuxer((payload) => splitter.push(payload));
  try {
    for await (const chunk of response) feed(chunk as Buffer);
  } catch (error) {
    if (!options.signal.aborted) throw error;
  }
  splitter.flush();
}

export async function stopContainer(docker: DockerSocket, id: string): Promise<void> {
  const response = await call(docker, 'POST', `/containers/${encodeURIComponent(id)}/stop`);
  await readAll(response);
  if ((response.statusCode ?? 500) >= 400 && response.statusCode !== 304) throw new DockerApiError(response.statusCode ?? 500, 'stop failed');
}

/** Runs argv (no shell) in the container; stdout and stderr together, bounded, with the exit code. */
export async function execInContainer(docker: DockerSocket, id: string, argv: readonly string[], options: { timeoutMs: number; maxBytes: number; signal: AbortSignal }): Promise<{ exitCode: number; output: string }> {
  const execId = await createExec(docker, id, { argv, stdin: false });
  const timeout = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  const response = await call(docker, 'POST', `/exec/${execId}/start`, { Detach: false, Tty: false }, timeout);
  if ((response.statusCode ?? 500) >= 400) throw new DockerApiError(response.statusCode ?? 500, (await readAll(response)).toString('utf8').trim());
  const parts: Buffer[] = [];
  let size = 0;
  const feed = createDemuxer((payload) => {
    if (size >= options.maxBytes) return;
    parts.push(payload.subarray(0, options.maxBytes - size));
    size += payload.length;
  });
  for await (const chunk of response) feed(chunk as Buffer);
  return { exitCode: await execExitCode(docker, execId), output: Buffer.concat(parts).toString('utf8') };
}

/** What an exec runs (Docker's exec create body, in our words). */
export interface ExecSpec {
  argv: readonly string[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  stdin: boolean;
}

/** Creates an exec in the container; its id. Throws DockerApiError (no such container, not running). */
export async function createExec(docker: DockerSocket, id: string, spec: ExecSpec): Promise<string> {
  const body = {
    Cmd: spec.argv, AttachStdin: spec.stdin, AttachStdout: true, AttachStderr: true, Tty: false,
    ...(spec.env ? { Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`) } : {}),
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
  };
  return (await json<{ Id: string }>(docker, 'POST', `/containers/${encodeURIComponent(id)}/exec`, body)).Id;
}

/**
 * Starts an exec with the connection taken over (Docker's hijack): the
 * socket carries stdin one way and the multiplexed stdout and stderr the
 * other (`head`: output that came with the upgrade). An engine that answers
 * without taking it over gives its output as the response body, and no stdin.
 */
export function attachExec(docker: DockerSocket, execId: string): Promise<{ output: NodeJS.ReadableStream; input?: NodeJS.WritableStream; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ Detach: false, Tty: false });
    const req = request({
      socketPath: docker.socketPath, method: 'POST', path: `${API}/exec/${encodeURIComponent(execId)}/start`,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), connection: 'Upgrade', upgrade: 'tcp' },
    });
    req.on('upgrade', (_response, socket, head) => resolve({ output: socket, input: socket, head }));
    req.on('response', (response) => {
      if ((response.statusCode ?? 500) < 400) {
        resolve({ output: response, head: Buffer.alloc(0) });
        return;
      }
      void readAll(response).then((body) => reject(new DockerApiError(response.statusCode ?? 500, body.toString('utf8').trim())), reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** An exec's exit status once it has ended (-1 when the engine does not say). */
export async function execExitCode(docker: DockerSocket, execId: string): Promise<number> {
  return (await json<{ ExitCode: number | null }>(docker, 'GET', `/exec/${encodeURIComponent(execId)}/json`)).ExitCode ?? -1;
}
