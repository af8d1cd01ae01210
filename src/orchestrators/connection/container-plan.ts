import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { DEFAULT_BASE_IMAGE } from '../../services/config/defaults.ts';
import type { ResolvedConfig } from '../../services/config/loader.ts';
import type { SecretReference } from '../../services/config/interpolate.ts';
import type { BuildSpec, ContainerSpec, GpuMode, MountSpec, PortSpec } from '../../services/containers/types.ts';
import { parseVolume } from '../../services/containers/volume-spec.ts';
import { mergePortMappings, parsePortMapping, type PortMapping } from '../../services/ports/port-spec.ts';
import { containerName, type ProjectIdentity, type TargetRole } from './project-identity.ts';

/** Where the image comes from: an existing reference, or a Dockerfile build. */
export type ImagePlan = { kind: 'image'; reference: string; isDefault?: boolean } | { kind: 'build'; build: BuildSpec; fingerprint: string };

export interface ContainerPlan {
  image: ImagePlan;
  spec: Omit<ContainerSpec, 'image'>;
  /** Container ports to reach from this machine, with the local port wanted for each. */
  forwards: PortMapping[];
  workdir: string;
}

export interface PlanInput {
  config: ResolvedConfig;
  identity: ProjectIdentity;
  /** Folder holding the project files on the engine's host (bind-mounted at workdir). */
  workspaceSource: string;
  /** Keys of environment.env whose value came from ${secret:…}: sent as secret env. */
  secretRefs: readonly SecretReference[];
  /** Extra `-p` forwards from the command line (win over config for the same container port). */
  extraPorts: readonly PortMapping[];
  /** The project folder on this machine (Dockerfile paths are relative to it). */
  projectDir: string;
  /**
   * Where published ports listen: `engine-host` (a remote engine: any free port
   * on its loopback, reached through an SSH forward) or `this-machine` (the
   * local engine: the local port asked for, no tunnel in between).
   */
  publishOn?: 'engine-host' | 'this-machine';
  /** A worker of a multi-host connect publishes and forwards no ports: the head's forwards are the ones to use. */
  role?: TargetRole;
  /** environment.base_image is mltoolbox's default (nobody configured an image): connect may use its offline default instead. */
  imageIsDefault?: boolean;
}

/**
 * Turns the resolved configuration into what the container engine needs.
 * Pure: the orchestrator does the I/O, this decides.
 */
export function planContainer(input: PlanInput): ContainerPlan {
  const { config, identity } = input;
  const environment = config.environment;
  const workdir = config.project.workdir;

  const secretKeys = new Set(input.secretRefs.map((ref) => envKeyOf(ref)).filter((key): key is string => key !== undefined));
  const env: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment.env)) (secretKeys.has(key) ? secretEnv : env)[key] = String(value);

  const worker = input.role === 'worker';
  const forwards = worker ? [] : mergePortMappings(environment.ports.map(parsePortMapping), input.extraPorts);
  const ports = forwards.map((f) => publishedPort(f, input.publishOn ?? 'engine-host'));

  const mounts: MountSpec[] = [{ type: 'bind', source: input.workspaceSource, target: workdir }];
  for (const volume of environment.volumes) mounts.push(parseVolume(volume, input.workspaceSource));

  const gpus: GpuMode = environment.gpus;
  const spec: Omit<ContainerSpec, 'image'> = {
    project: identity.slug,
    name: containerName(identity, input.role),
    command: ['sleep', 'infinity'],
    labels: { 'dev.mltoolbox.project-path': identity.localPath },
    env,
    secretEnv,
    mounts,
    ports: environment.network_mode === 'host' ? [] : ports,
    workdir,
    init: true,
    ...(environment.network_mode ? { networkMode: environment.network_mode } : {}),
    ...(environment.shm_size !== undefined ? { shmSize: environment.shm_size } : {}),
    ...(environment.user ? { user: environment.user } : {}),
    gpus: { mode: gpus, count: environment.gpu_count, ...(environment.gpu_devices ? { devices: environment.gpu_devices } : {}) },
  };
  const image = planImage(config, identity, input.projectDir);
  if (image.kind === 'image' && input.imageIsDefault) image.isDefault = true;
  return { image, spec, forwards, workdir };
}

function planImage(config: ResolvedConfig, identity: ProjectIdentity, projectDir: string): ImagePlan {
  const dockerfile = config.environment.dockerfile;
  // The schema's superRefine guarantees one image source; the default image is the defaults layer's.
  if (!dockerfile) return { kind: 'image', reference: config.environment.base_image ?? DEFAULT_BASE_IMAGE };
  const path = isAbsolute(dockerfile.path) ? dockerfile.path : join(projectDir, dockerfile.path);
  const context = dockerfile.context ? (isAbsolute(dockerfile.context) ? dockerfile.context : join(projectDir, dockerfile.context)) : join(path, '..');
  const args = Object.fromEntries(Object.entries(dockerfile.args ?? {}).map(([k, v]) => [k, String(v)]));
  const fingerprint = createHash('sha256').update(JSON.stringify({ path, context, args, target: dockerfile.target ?? null })).digest('hex');
  return {
    kind: 'build',
    fingerprint,
    build: {
      context,
      dockerfile: path,
      tag: `mltoolbox/${identity.slug}:pending`,
      args,
      ...(dockerfile.target ? { target: dockerfile.target } : {}),
      labels: { 'dev.mltoolbox.project': identity.slug, 'dev.mltoolbox.project-path': identity.localPath },
    },
  };
}

/** `environment.env.WANDB_API_KEY` -> `WANDB_API_KEY`. */
function envKeyOf(ref: SecretReference): string | undefined {
  const match = /^environment\.env\.(.+)$/.exec(ref.key);
  return match?.[1];
}

/**
 * How a mapping is published on the engine's host. UDP cannot ride an SSH
 * forward, so a UDP port keeps the port asked for on the engine host (where
 * it is reached) instead of any free one.
 */
function publishedPort(mapping: PortMapping, publishOn: 'engine-host' | 'this-machine'): PortSpec {
  const host = publishOn === 'this-machine' || mapping.protocol === 'udp' ? mapping.local : undefined;
  return { container: mapping.container, protocol: mapping.protocol, ...(host === undefined ? {} : { host }) };
}
