import { UserError } from '../../core/errors.ts';
import { gpuDeviceRequests } from './create-body.ts';
import type { DeviceRequest, EngineInfoBody } from './engine-client.ts';
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

/** Decides the DeviceRequests for a spec on this engine, or refuses (mode 'required'). */
export function planGpus(gpus: GpuSpec | undefined, info: EngineInfoBody, where: string): GpuPlan {
  if (!gpus || gpus.mode === 'none') return { deviceRequests: [], warnings: [] };
  const requests = gpuDeviceRequests(gpus);
  if (requests.length === 0) return { deviceRequests: [], warnings: [] };
  if (engineHasGpuSupport(info)) return { deviceRequests: requests, warnings: [] };
  if (gpus.mode === 'required') throw gpuRuntimeMissing(where);
  return { deviceRequests: [], warnings: [gpuDegradedWarning(where)] };
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
