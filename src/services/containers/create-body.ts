import { UserError } from '../../core/errors.ts';
import type { CreateContainerBody, DeviceRequest, HostConfigBody, LibpodCreateBody, LibpodNamespace, PortBinding } from './engine-client.ts';
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

/** A Docker `NetworkMode`/`IpcMode` value as a libpod namespace: `host`, `none`, `container:ID`, …. */
function libpodNamespace(mode: string): LibpodNamespace {
  const colon = mode.indexOf(':');
  return colon < 0 ? { nsmode: mode === 'default' ? 'bridge' : mode } : { nsmode: mode.slice(0, colon), value: mode.slice(colon + 1) };
}

const NETWORK_NAMESPACES = new Set(['none', 'host', 'bridge', 'default', 'private', 'slirp4netns', 'pasta']);

/** Docker's `--security-opt` values in libpod's fields; anything else is refused rather than dropped. */
function libpodSecurity(options: readonly string[]): Pick<LibpodCreateBody, 'selinux_opts' | 'apparmor_profile' | 'seccomp_profile_path' | 'no_new_privileges'> {
  const out: ReturnType<typeof libpodSecurity> = {};
  for (const option of options) {
    const [key = '', value = ''] = option.split(/[=:](.*)/s);
    if (key === 'label') (out.selinux_opts ??= []).push(value);
    else if (key === 'apparmor') out.apparmor_profile = value;
    else if (key === 'seccomp') out.seccomp_profile_path = value;
    else if (key === 'no-new-privileges' && (value === '' || value === 'true')) out.no_new_privileges = true;
    else throw new UserError('CONTAINER_SPEC_INVALID', `security_opt ${JSON.stringify(option)} has no equivalent in Podman's API`, 'use label=…, apparmor=…, seccomp=… or no-new-privileges');
  }
  return out;
}

/**
 * The same container as a Podman libpod create body (POST /libpod/containers/create),
 * for GPU containers: CDI devices, which Podman's Docker API drops before 5.5. Mapped from
 * the Docker body, so the two never disagree; `cdi` DeviceRequests become `devices`.
 */
export function libpodCreateBody(name: string, body: CreateContainerBody): LibpodCreateBody {
  const host = body.HostConfig;
  const env = Object.fromEntries((body.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  const mounts = (host.Mounts ?? []).filter((m) => m.Type !== 'volume').map((m) => ({
    destination: m.Target,
    type: m.Type as 'bind' | 'tmpfs',
    source: m.Type === 'tmpfs' ? 'tmpfs' : m.Source!,
    ...(m.Type === 'bind' ? { options: ['rbind', ...(m.ReadOnly ? ['ro'] : [])] } : {}),
  }));
  const volumes = (host.Mounts ?? []).filter((m) => m.Type === 'volume').map((m) => ({ Name: m.Source!, Dest: m.Target, Options: m.ReadOnly ? ['ro'] : [] }));
  const portmappings = Object.entries(host.PortBindings ?? {}).flatMap(([key, bindings]) => {
    const [port = '', protocol = 'tcp'] = key.split('/');
    return bindings.map((b) => ({ host_ip: b.HostIp, container_port: Number(port), ...(b.HostPort ? { host_port: Number(b.HostPort) } : {}), protocol }));
  });
  const network = host.NetworkMode;
  const devices = (host.DeviceRequests ?? []).flatMap((r) => {
    if (r.Driver !== 'cdi') throw new UserError('CONTAINER_SPEC_INVALID', `Podman's API takes GPUs as CDI devices, not the ${r.Driver} driver`, 'report this: mltoolbox should have asked for CDI devices on Podman');
    return (r.DeviceIDs ?? []).map((path) => ({ path }));
  });
  return {
    name,
    image: body.Image,
    ...(body.Cmd ? { command: [...body.Cmd] } : {}),
    ...(body.Entrypoint ? { entrypoint: [...body.Entrypoint] } : {}),
    ...(body.Env?.length ? { env } : {}),
    labels: { ...body.Labels },
    ...(body.User ? { user: body.User } : {}),
    ...(body.WorkingDir ? { work_dir: body.WorkingDir } : {}),
    ...(body.Hostname ? { hostname: body.Hostname } : {}),
    ...(mounts.length ? { mounts } : {}),
    ...(volumes.length ? { volumes } : {}),
    ...(portmappings.length ? { portmappings } : {}),
    ...(network === undefined ? {} : NETWORK_NAMESPACES.has(network) || network.includes(':') ? { netns: libpodNamespace(network) } : { netns: { nsmode: 'bridge' }, Networks: { [network]: {} } }),
    ...(host.IpcMode ? { ipcns: libpodNamespace(host.IpcMode) } : {}),
    ...(host.ShmSize === undefined ? {} : { shm_size: host.ShmSize }),
    ...(host.Init ? { init: true } : {}),
    ...(host.Privileged ? { privileged: true } : {}),
    ...(host.CapAdd?.length ? { cap_add: [...host.CapAdd] } : {}),
    ...(host.SecurityOpt?.length ? libpodSecurity(host.SecurityOpt) : {}),
    ...(devices.length ? { devices } : {}),
  };
}
