import { UserError } from '../../core/errors.ts';
import { gpuDeviceRequests } from './create-body.ts';
import type { DeviceRequest, EngineInfoBody, EngineVersionBody } from './engine-client.ts';
import type { GpuSpec } from './types.ts';

/** The fix, step by step; shown by the error, the warning and docs/containers.md. */
export const NVIDIA_RUNTIME_FIX = [
  'install the NVIDIA Container Toolkit on the GPU host: sudo apt-get install -y nvidia-container-toolkit',
  '  (package repository: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html)',
  'register it with Docker: sudo nvidia-ctk runtime configure --runtime=docker',
  'restart Docker: sudo systemctl restart docker (no systemd: sudo service docker restart)',
  'or let mltoolbox doctor HOST --fix do these steps, with the commands that fit the host',
  'check: docker info --format "{{json .Runtimes}}" lists "nvidia"',
];

/**
 * Whether the engine can hand out NVIDIA GPUs: the nvidia runtime is
 * registered, or CDI is enabled (Docker >= 25 routes --gpus through CDI
 * specs). A heuristic by nature; a start that still fails with "could not
 * select device driver" is reported the same way (see docker-manager.ts).
 */
export function engineHasGpuSupport(info: EngineInfoBody): boolean {
  return Object.hasOwn(info.Runtimes ?? {}, 'nvidia') || (info.CDISpecDirs?.length ?? 0) > 0;
}

export interface GpuPlan {
  deviceRequests: DeviceRequest[];
  warnings: string[];
}

/** The CDI spec `nvidia-ctk cdi generate` writes (Podman and CDI-enabled Docker read /etc/cdi and /var/run/cdi). */
export const CDI_GENERATE = 'nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml';
/**
 * The first Podman that takes CDI devices in its own (libpod) create API, as
 * `podman run --device nvidia.com/gpu=all` does; mltoolbox creates Podman GPU
 * containers there (its Docker-compatible API passes CDI on only from 5.5).
 */
export const PODMAN_CDI_MIN: readonly [number, number] = [4, 1];

/** Which engine answers on the socket: Podman's compat API names itself in /version's Components. */
export interface EngineIdentity {
  kind: 'docker' | 'podman';
  version: string;
}

export function engineIdentity(version: EngineVersionBody): EngineIdentity {
  const podman = version.Components?.find((c) => /podman/i.test(c.Name));
  return podman ? { kind: 'podman', version: podman.Version || version.Version } : { kind: 'docker', version: version.Version };
}

/**
 * The CDI device names for a GPU request, as the NVIDIA CDI spec names them:
 * `nvidia.com/gpu=all`, or one per index/UUID (`nvidia.com/gpu=0`); a count N
 * asks for the first N indices, as `--gpus N` does. A name already qualified
 * (`vendor/class=name`) is kept.
 */
export function cdiDeviceNames(gpus: { count?: number | 'all'; devices?: readonly string[] }): string[] {
  if (gpus.devices && gpus.devices.length > 0) return gpus.devices.map((id) => (/^[^/=]+\/[^/=]+=/.test(id) ? id : `nvidia.com/gpu=${id}`));
  const count = gpus.count ?? 'all';
  if (count === 'all') return ['nvidia.com/gpu=all'];
  return Array.from({ length: count }, (_, i) => `nvidia.com/gpu=${i}`);
}

/** Whether this Podman version takes CDI devices through its libpod API. */
export function podmanTakesCdi(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  return major > PODMAN_CDI_MIN[0] || (major === PODMAN_CDI_MIN[0] && minor >= PODMAN_CDI_MIN[1]);
}

/**
 * Decides the DeviceRequests for a spec on this engine, or refuses (mode 'required').
 * Docker: `--gpus` (the nvidia driver), when its runtime or CDI is there. Podman:
 * CDI devices (`{Driver: 'cdi', DeviceIDs: ['nvidia.com/gpu=all']}`), sent as libpod
 * `devices` (libpodCreateBody) from Podman 4.1; whether the host has a CDI spec shows
 * when the container starts (isMissingCdiSpecMessage).
 */
export function planGpus(gpus: GpuSpec | undefined, info: EngineInfoBody, where: string, engine: EngineIdentity = { kind: 'docker', version: '' }): GpuPlan {
  if (!gpus || gpus.mode === 'none') return { deviceRequests: [], warnings: [] };
  if (gpuDeviceRequests(gpus).length === 0) return { deviceRequests: [], warnings: [] };
  if (engine.kind === 'podman') {
    if (podmanTakesCdi(engine.version)) return { deviceRequests: [{ Driver: 'cdi', DeviceIDs: cdiDeviceNames(gpus) }], warnings: [] };
    if (gpus.mode === 'required') throw podmanTooOldForCdi(where, engine.version);
    return { deviceRequests: [], warnings: [`started without GPUs: Podman ${engine.version} ${where} does not take CDI devices (Podman ${PODMAN_CDI_MIN.join('.')} or newer does; or use Docker: environment.engine: docker)`] };
  }
  if (engineHasGpuSupport(info)) return { deviceRequests: gpuDeviceRequests(gpus), warnings: [] };
  if (gpus.mode === 'required') throw gpuRuntimeMissing(where);
  return { deviceRequests: [], warnings: [gpuDegradedWarning(where)] };
}

function podmanTooOldForCdi(where: string, version: string): UserError {
  return new UserError(
    'GPU_CDI_UNSUPPORTED',
    `Podman ${version} ${where} cannot hand GPUs to a container (Podman takes CDI devices from ${PODMAN_CDI_MIN.join('.')})`,
    `upgrade Podman on the host to ${PODMAN_CDI_MIN.join('.')} or newer, or use its Docker Engine (environment.engine: docker), or set environment.gpus: optional to start without GPUs`,
    { data: { podmanVersion: version } },
  );
}

/** The engine's answer when a CDI device is named but no spec on the host defines it. */
export function isMissingCdiSpecMessage(message: string): boolean {
  return /unresolvable CDI devices/i.test(message);
}

export function cdiSpecMissing(where: string, devices: readonly string[], cause?: unknown): UserError {
  const host = where.startsWith('on ') ? where.slice(3) : 'local';
  return new UserError(
    'GPU_CDI_SPEC_MISSING',
    `no CDI spec ${where} defines ${devices.join(', ')}, so Podman cannot give the container GPUs`,
    `write the spec on the host: sudo ${CDI_GENERATE} (mltoolbox doctor ${host} --fix does it; nvidia-ctk comes with the NVIDIA Container Toolkit), or set environment.gpus: optional to start without GPUs`,
    { cause, data: { devices: [...devices] } },
  );
}

export function cdiDegradedWarning(where: string): string {
  const host = where.startsWith('on ') ? where.slice(3) : 'local';
  return `started without GPUs: no CDI spec ${where} defines the GPUs (fix: sudo ${CDI_GENERATE} on the host, or mltoolbox doctor ${host} --fix)`;
}

export function gpuRuntimeMissing(where: string, cause?: unknown): UserError {
  return new UserError(
    'GPU_RUNTIME_MISSING',
    `the Docker Engine ${where} has no NVIDIA runtime, so the container cannot get GPUs`,
    `install and register the NVIDIA Container Toolkit (steps below), or set environment.gpus: optional to start without GPUs`,
    { details: NVIDIA_RUNTIME_FIX, cause },
  );
}

export function gpuDegradedWarning(where: string): string {
  return `started without GPUs: the Docker Engine ${where} has no NVIDIA runtime (fix: mltoolbox doctor ${where.startsWith('on ') ? where.slice(3) : 'local'} --fix installs the NVIDIA Container Toolkit and registers it, with the commands that fit that host)`;
}

/** The engine's answer when a DeviceRequest names a driver it does not have. */
export function isMissingGpuDriverMessage(message: string): boolean {
  return /could not select device driver/i.test(message);
}
