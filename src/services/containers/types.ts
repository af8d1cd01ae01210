import type { Readable, Writable } from 'node:stream';

/**
 * The container engine seam. Orchestrators talk to this interface only; the
 * Docker implementation (docker-manager.ts) is one of possibly several, and
 * unit tests drive it through a fake engine client (engine-client.ts).
 */
export interface ContainerManager {
  /** Engine version and the runtimes it knows (e.g. 'runc', 'nvidia'). */
  ping(): Promise<EngineInfo>;
  /** Builds an image from a local folder; progress lines go to onProgress. */
  build(spec: BuildSpec, onProgress?: (line: string) => void): Promise<BuildResult>;
  /** Pulls an image from its registry (explicitly asked for: nothing else ever pulls). */
  pull(reference: string, onProgress?: (line: string) => void): Promise<{ imageId: string }>;
  /**
   * `docker import`: makes an image of one layer from a root filesystem tar
   * stream; `changes` are Dockerfile instructions (CMD, ENV, LABEL, …).
   */
  importImage(rootfs: Readable, reference: string, options?: { changes?: readonly string[] }): Promise<{ imageId: string }>;
  /** `docker save`: the image as a tar stream (manifest.json, config, one file per layer). */
  saveImage(reference: string): Promise<Readable>;
  /** `docker load`: layers the engine already has may be left out of the archive. */
  loadImage(archive: Readable): Promise<void>;
  /** The chain ID of every layer stack the engine holds (for sending only missing layers). */
  layerChains(): Promise<Set<string>>;
  /** The image's id when it exists locally, else undefined. Never pulls. */
  imageId(reference: string): Promise<string | undefined>;
  /** The image's id and configured user ('' = root) when it exists locally, else undefined. Never pulls. */
  imageConfig(reference: string): Promise<{ id: string; user: string } | undefined>;
  /** Removes an image (a tag); missing is fine. */
  removeImage(reference: string, options?: { force?: boolean }): Promise<void>;
  /** Makes the spec's container run: reuse, start, create or recreate it. */
  ensureContainer(spec: ContainerSpec, options?: EnsureOptions): Promise<EnsureResult>;
  /** Runs a command to completion and collects its output. */
  exec(id: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs a command with live streams (interactive shells, long jobs). */
  startExec(id: string, argv: readonly string[], options?: StreamingExecOptions): Promise<ExecSession>;
  /**
   * The engine's own command line (`docker exec -i -t -w DIR ID …`) that runs
   * argv in the container on the user's terminal, to be run on the engine's
   * host (the container Host runs it there). A Podman manager answers with
   * `podman exec …`: callers never write an engine's CLI themselves.
   */
  interactiveCommand(id: string, argv: readonly string[], options: InteractiveExecOptions): Promise<string[]>;
  /** Calls onChunk with each piece of output; with follow, until the container stops or signal aborts. */
  logs(id: string, options: LogsOptions, onChunk: (chunk: OutputChunk) => void): Promise<void>;
  /** Stops a running container; stopped or missing is fine. */
  stop(id: string, options?: { timeoutSeconds?: number }): Promise<void>;
  /** Removes a container (stopping it first); missing is fine. Named volumes are kept. */
  remove(id: string): Promise<void>;
  /** The container by id or name, or undefined when there is none. */
  inspect(id: string): Promise<ContainerInfo | undefined>;
  /** Containers mltoolbox created, running or not, optionally for one project. */
  list(filter?: { project?: string; labels?: Record<string, string> }): Promise<ContainerSummary[]>;
  /** One CPU/memory sample of a running container. */
  stats(id: string): Promise<ContainerStats>;
}

export interface ContainerStats {
  /** Percent of one CPU (200 = two CPUs busy), as `docker stats` shows it; null before the engine has two samples. */
  cpuPercent: number | null;
  /** Memory in use without the page cache, as `docker stats` counts it. */
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
}

/** Where a container sees a host folder or volume. */
export interface MountPoint {
  type: string;
  /** The host path (bind) or the volume's folder. */
  source: string | undefined;
  destination: string;
}

export interface EngineInfo {
  version: string;
  apiVersion: string;
  runtimes: string[];
  /** True when the engine can hand out NVIDIA GPUs (nvidia runtime or CDI). */
  gpuReady: boolean;
}

export interface BuildSpec {
  /** The build context: a local folder, sent as a tar stream (.dockerignore honoured). */
  context: string;
  /** Dockerfile path, relative to the context or absolute (may lie outside it). Default: Dockerfile. */
  dockerfile?: string;
  /** The tag to give the image, e.g. mltoolbox/myproj:3f2a9c. */
  tag: string;
  /** --build-arg values. They end up in the image history: never pass secrets here. */
  args?: Record<string, string>;
  /** Multi-stage target. */
  target?: string;
  labels?: Record<string, string>;
  noCache?: boolean;
  signal?: AbortSignal;
}

export interface BuildResult {
  imageId: string;
  tag: string;
}

export type GpuMode = 'required' | 'optional' | 'none';

export interface GpuSpec {
  /** How many GPUs ('all' = every one), or explicit device indexes/UUIDs. Default: 'all'. */
  count?: number | 'all';
  devices?: readonly string[];
  mode: GpuMode;
}

export interface PortSpec {
  /** The port inside the container. */
  container: number;
  /** The port on the engine's host (always bound to 127.0.0.1). 0 or unset: any free port. */
  host?: number;
  protocol?: 'tcp' | 'udp';
}

export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); unused for tmpfs. */
  source?: string;
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  /** Project identity; stored as a label so list({ project }) finds it. */
  project: string;
  /** The container's name: its identity for reuse. */
  name: string;
  /** Image reference; must exist locally (build or pull it first, we never pull implicitly). */
  image: string;
  /** Replaces the image's CMD. A dev container usually wants ['sleep', 'infinity']. */
  command?: readonly string[];
  entrypoint?: readonly string[];
  labels?: Record<string, string>;
  env?: Record<string, string>;
  /**
   * Secret variables: they travel only in the API request body (never on a
   * command line, never logged). Their values are hashed into the config
   * hash, so rotating a secret recreates the container.
   */
  secretEnv?: Record<string, string>;
  mounts?: readonly MountSpec[];
  ports?: readonly PortSpec[];
  /** Docker network mode, e.g. 'host'. Default: the engine's bridge. */
  networkMode?: string;
  /** Shared memory: bytes, or a size such as '8g', '512m'. */
  shmSize?: string | number;
  ipc?: string;
  user?: string;
  workdir?: string;
  hostname?: string;
  /** Run an init process (tini) as PID 1 so zombies are reaped. */
  init?: boolean;
  /** --privileged (a Dev Container Feature such as docker-in-docker asks for it). */
  privileged?: boolean;
  /** --cap-add values, e.g. SYS_PTRACE. */
  capAdd?: readonly string[];
  /** --security-opt values, e.g. seccomp=unconfined. */
  securityOpt?: readonly string[];
  gpus?: GpuSpec;
}

export interface EnsureOptions {
  /** Recreate even when the running container matches. */
  force?: boolean;
}

export type EnsureAction = 'reused' | 'created' | 'recreated' | 'started';

export interface EnsureResult {
  id: string;
  name: string;
  action: EnsureAction;
  configHash: string;
  /** Why it was recreated ('the configuration changed', 'forced', …). */
  reason?: string;
  /** Degraded starts (e.g. without GPUs) and engine warnings. Never holds secrets. */
  warnings: string[];
  /** Ports as published: container port -> 127.0.0.1:host port. */
  ports: PublishedPort[];
}

export interface PublishedPort {
  container: number;
  protocol: 'tcp' | 'udp';
  hostIp: string;
  host: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
  tty?: boolean;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Buffer;
  signal?: AbortSignal;
}

export interface InteractiveExecOptions {
  /** Allocate a terminal (-t). */
  tty: boolean;
  /** Keep stdin open (-i). */
  stdin: boolean;
  workdir?: string;
  user?: string;
  /** Variables for the command (-e K=V). */
  env?: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface StreamingExecOptions {
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
  /** Allocate a pseudo-terminal: stdout and stderr arrive merged on stdout. */
  tty?: boolean;
  /** Keep stdin open for writing (interactive use). */
  interactive?: boolean;
  /** Initial terminal size when tty. */
  size?: { columns: number; rows: number };
}

export interface ExecSession {
  /** Present when interactive: end() it to send EOF. */
  stdin: Writable | undefined;
  stdout: Readable;
  stderr: Readable;
  resize(size: { columns: number; rows: number }): Promise<void>;
  /** Drops the connection; the command may keep running in the container. */
  detach(): void;
  /** Settles when the command exits. */
  done: Promise<{ exitCode: number }>;
}

export interface LogsOptions {
  follow?: boolean;
  /** Only the last N lines. */
  tail?: number;
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  /** Engine wording, e.g. "Up 3 minutes". */
  status: string;
  project: string | undefined;
  configHash: string | undefined;
  labels: Record<string, string>;
  mounts: MountPoint[];
  /** When the engine created it (ISO 8601); '' when unknown. */
  created: string;
}

export interface ContainerInfo extends ContainerSummary {
  imageId: string;
  running: boolean;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  ports: PublishedPort[];
  /** The image's or the spec's working directory ('' when neither set one). */
  workdir: string;
  /** The user commands run as ('' = the image's default). */
  user: string;
}
