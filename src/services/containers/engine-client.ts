import type { Duplex, Readable } from 'node:stream';

/**
 * The few Docker Engine API calls the manager needs, in the API's own
 * vocabulary (request and response bodies as the engine defines them).
 * dockerode-client.ts adapts dockerode to it; unit tests pass a fake, which
 * is how the exact request bodies (GPU DeviceRequests, port bindings, …) are
 * checked without an engine or a GPU.
 *
 * Errors: a failed call rejects with an EngineError (statusCode set for API
 * answers, errno-style code for connection failures).
 */
export interface EngineClient {
  /** GET /version. Podman's Docker-compatible API names itself in Components ("Podman Engine"). */
  version(): Promise<EngineVersionBody>;
  info(): Promise<EngineInfoBody>;
  inspectImage(reference: string): Promise<{ Id: string; Config?: { User?: string } | null; RootFS?: { Layers?: string[] } }>;
  /** GET /images/json: every image's id. */
  listImages(): Promise<{ Id: string }[]>;
  /** GET /images/{name}/get: the `docker save` tar stream. */
  saveImage(reference: string): Promise<Readable>;
  /** POST /images/load?quiet=1: resolves with the JSON progress stream. */
  loadImage(archive: Readable): Promise<Readable>;
  removeImage(reference: string, options: { force: boolean }): Promise<void>;
  /** POST /images/create: resolves with the JSON progress stream (an `error` field on failure). */
  pullImage(reference: string): Promise<Readable>;
  /** POST /images/create?fromSrc=-: the body is a root filesystem tar; resolves with the JSON progress stream. */
  importImage(rootfs: Readable, options: { reference: string; changes: readonly string[] }): Promise<Readable>;
  /** POST /build: the context is an uncompressed tar stream; resolves with the JSON progress stream. */
  build(context: Readable, options: BuildQuery): Promise<Readable>;
  listContainers(options: { all: boolean; filters: { label: string[] } }): Promise<ContainerSummaryBody[]>;
  createContainer(name: string, body: CreateContainerBody): Promise<{ Id: string; Warnings?: string[] }>;
  /** Podman only: POST /v4.0.0/libpod/containers/create, Podman's own API (its CDI devices work from 4.1; see gpu.ts). */
  createLibpodContainer(body: LibpodCreateBody): Promise<{ Id: string; Warnings?: string[] }>;
  inspectContainer(id: string): Promise<ContainerInspectBody>;
  startContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string, options: { force: boolean }): Promise<void>;
  /** GET /containers/{id}/logs as a stream (multiplexed unless the container has a TTY). */
  containerLogs(id: string, options: { follow: boolean; tail?: number; timestamps: boolean }): Promise<Readable>;
  createExec(id: string, body: ExecCreateBody): Promise<string>;
  /** Starts an exec and returns the hijacked connection (multiplexed unless Tty). */
  startExec(execId: string, options: { tty: boolean; stdin: boolean }): Promise<Duplex>;
  inspectExec(execId: string): Promise<{ Running: boolean; ExitCode: number | null }>;
  resizeExec(execId: string, size: { h: number; w: number }): Promise<void>;
  /** GET /containers/{id}/stats?stream=false: one sample (CPU needs the engine's precpu_stats). */
  containerStats(id: string): Promise<ContainerStatsBody>;
}

export interface ContainerStatsBody {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: { inactive_file?: number; total_inactive_file?: number } };
}

export class EngineError extends Error {
  /** HTTP status of an API answer (404, 409, 500, …). */
  readonly statusCode: number | undefined;
  /** Connection failures: ENOENT, EACCES, ECONNREFUSED, ECONNRESET, ETIMEDOUT. */
  readonly errno: string | undefined;

  constructor(message: string, options: { statusCode?: number; errno?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngineError';
    this.statusCode = options.statusCode;
    this.errno = options.errno;
  }
}

export function isEngineError(error: unknown, statusCode?: number): error is EngineError {
  return error instanceof EngineError && (statusCode === undefined || error.statusCode === statusCode);
}

export interface EngineInfoBody {
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  /** Docker >= 25 with CDI enabled: folders holding CDI specs. */
  CDISpecDirs?: string[];
}

export interface BuildQuery {
  t: string;
  dockerfile: string;
  buildargs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  nocache?: boolean;
  rm: boolean;
  forcerm: boolean;
  signal?: AbortSignal;
}

export interface ContainerSummaryBody {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Labels: Record<string, string> | null;
  /** Seconds since the epoch. */
  Created?: number;
  Mounts?: MountPointBody[];
}

export interface MountPointBody {
  Type: string;
  Source?: string;
  Destination: string;
}

export interface EngineVersionBody {
  Version: string;
  ApiVersion: string;
  Components?: { Name: string; Version: string }[];
}

/** `--gpus` (Driver nvidia, Count, Capabilities) or a CDI request (Driver cdi, DeviceIDs: qualified CDI names). */
export interface DeviceRequest {
  Driver: string;
  Count?: number;
  DeviceIDs?: string[];
  Capabilities?: string[][];
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface HostConfigBody {
  Binds?: string[];
  Mounts?: { Type: 'bind' | 'volume' | 'tmpfs'; Source?: string; Target: string; ReadOnly?: boolean }[];
  PortBindings?: Record<string, PortBinding[]>;
  NetworkMode?: string;
  ShmSize?: number;
  IpcMode?: string;
  Init?: boolean;
  Privileged?: boolean;
  CapAdd?: string[];
  SecurityOpt?: string[];
  DeviceRequests?: DeviceRequest[];
}

export interface CreateContainerBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels: Record<string, string>;
  User?: string;
  WorkingDir?: string;
  Hostname?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig: HostConfigBody;
}

/** Namespace choice in Podman's spec generator: `{nsmode: 'host'}`, `{nsmode: 'container', value: id}`. */
export interface LibpodNamespace {
  nsmode: string;
  value?: string;
}

/**
 * The subset of Podman's SpecGenerator (pkg/specgen) mltoolbox sends: the same
 * container as a CreateContainerBody, in libpod's field names. `devices` takes
 * CDI names (`{path: 'nvidia.com/gpu=all'}`), as `podman run --device` does.
 */
export interface LibpodCreateBody {
  name: string;
  image: string;
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels: Record<string, string>;
  user?: string;
  work_dir?: string;
  hostname?: string;
  mounts?: { destination: string; type: 'bind' | 'tmpfs'; source: string; options?: string[] }[];
  volumes?: { Name: string; Dest: string; Options: string[] }[];
  portmappings?: { host_ip: string; container_port: number; host_port?: number; protocol: string }[];
  netns?: LibpodNamespace;
  Networks?: Record<string, Record<string, never>>;
  ipcns?: LibpodNamespace;
  shm_size?: number;
  init?: boolean;
  privileged?: boolean;
  cap_add?: string[];
  selinux_opts?: string[];
  apparmor_profile?: string;
  seccomp_profile_path?: string;
  no_new_privileges?: boolean;
  devices?: { path: string }[];
}

export interface ContainerInspectBody {
  Id: string;
  Name: string;
  Image: string;
  Config: { Image: string; Labels: Record<string, string> | null; Tty?: boolean; WorkingDir?: string; User?: string };
  Mounts?: MountPointBody[];
  State: { Status: string; Running: boolean; Paused?: boolean; ExitCode: number; StartedAt: string; FinishedAt: string; Error?: string };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

export interface ExecCreateBody {
  Cmd: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty: boolean;
  AttachStdin: boolean;
  AttachStdout: true;
  AttachStderr: true;
  ConsoleSize?: [number, number];
}
