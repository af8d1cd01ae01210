import { UserError } from '../../core/errors.ts';
import type { CreateContainerBody, DeviceRequest, HostConfigBody, PortBinding } from './engine-client.ts';
import type { ContainerSpec } from './types.ts';

/** Published ports listen on the engine host's loopback only: reach them through an SSH forward. */
export const PUBLISH_HOST_IP = '127.0.0.1';

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** '8g', '512m', '1.5G', '1024' (bytes) or a number of bytes -> bytes, as docker's --shm-size reads them. */
export function parseSize(value: string | number, what = 'shm_size'): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return value;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt])?b?\s*$/i.exec(value);
    if (match) return Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!);
  }
  throw new UserError('CONTAINER_SPEC_INVALID', `${what} ${JSON.stringify(value)} is not a size`, `write a size such as "8g", "512m" or a number of bytes`);
}

/** The GPU part of HostConfig: `--gpus all` / `--gpus 2` / `--gpus device=0,1`. */
export function gpuDeviceRequests(gpus: { count?: number | 'all'; devices?: readonly string[] }): DeviceRequest[] {
  if (gpus.devices && gpus.devices.length > 0) {
    return [{ Driver: 'nvidia', Count: 0, DeviceIDs: [...gpus.devices], Capabilities: [['gpu']] }];
  }
  const count = gpus.count ?? 'all';
  if (count === 0) return [];
  return [{ Driver: 'nvidia', Count: count === 'all' ? -1 : count, Capabilities: [['gpu']] }];
}

export interface CreateBodyInput {
  spec: ContainerSpec;
  labels: Record<string, string>;
  /** Decided by the GPU plan (gpu.ts): empty when the container runs without GPUs. */
  deviceRequests: DeviceRequest[];
}

/** The POST /containers/create body for a spec. Pure: the config hash is taken over its output. */
export function createContainerBody({ spec, labels, deviceRequests }: CreateBodyInput): CreateContainerBody {
  const env = { ...spec.env, ...spec.secretEnv };
  const hostConfig: HostConfigBody = {};
  if (spec.mounts?.length) {
    hostConfig.Mounts = spec.mounts.map((m) => ({
      Type: m.type,
      ...(m.type === 'tmpfs' ? {} : { Source: m.source }),
      Target: m.target,
      ...(m.readOnly ? { ReadOnly: true } : {}),
    }));
  }
  let exposed: CreateContainerBody['ExposedPorts'];
  if (spec.ports?.length) {
    const bindings: Record<string, PortBinding[]> = {};
    exposed = {};
    for (const port of spec.ports) {
      const key = `${port.container}/${port.protocol ?? 'tcp'}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: PUBLISH_HOST_IP, HostPort: port.host ? String(port.host) : '' });
    }
    hostConfig.PortBindings = bindings;
  }
  if (spec.networkMode) hostConfig.NetworkMode = spec.networkMode;
  if (spec.shmSize !== undefined) hostConfig.ShmSize = parseSize(spec.shmSize);
  if (spec.ipc) hostConfig.IpcMode = spec.ipc;
  if (spec.init) hostConfig.Init = true;
  if (spec.privileged) hostConfig.Privileged = true;
  if (spec.capAdd?.length) hostConfig.CapAdd = [...spec.capAdd];
  if (spec.securityOpt?.length) hostConfig.SecurityOpt = [...spec.securityOpt];
  if (deviceRequests.length) hostConfig.DeviceRequests = deviceRequests;
  const envEntries = Object.keys(env).sort().map((name) => `${name}=${env[name]}`);
  return {
    Image: spec.image,
    ...(spec.command ? { Cmd: [...spec.command] } : {}),
    ...(spec.entrypoint ? { Entrypoint: [...spec.entrypoint] } : {}),
    ...(envEntries.length ? { Env: envEntries } : {}),
    Labels: labels,
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.hostname ? { Hostname: spec.hostname } : {}),
    ...(exposed ? { ExposedPorts: exposed } : {}),
    HostConfig: hostConfig,
  };
}
