import type { Reporter } from '../../core/reporter.ts';
import { createDockerManager } from './docker-manager.ts';
import { createDockerodeClient } from './dockerode-client.ts';
import { DEFAULT_DOCKER_SOCKET } from './exec-command.ts';
import type { ContainerManager } from './types.ts';

export type * from './types.ts';
export type { EngineClient } from './engine-client.ts';
export { createDockerManager, type DockerManagerOptions } from './docker-manager.ts';
export { parseSize, gpuDeviceRequests, PUBLISH_HOST_IP } from './create-body.ts';
export { parseVolume } from './volume-spec.ts';
export { LABEL } from './labels.ts';
export { NVIDIA_RUNTIME_FIX } from './gpu.ts';

export { DEFAULT_DOCKER_SOCKET, dockerInteractiveCommand } from './exec-command.ts';

export interface DockerEndpointOptions {
  /** The engine's unix socket: the local engine, or a local socket forwarded over SSH to a host's engine. */
  socketPath?: string;
  /** The host the socket leads to, for messages ("on gpu-box"); unset = the local engine. */
  host?: string;
  /** The engine's socket as the host's own docker CLI must name it (another than the default: a Podman or second engine). */
  hostSocket?: string;
  /** mltoolbox's version, stored as a label (a container from another version is recreated). */
  toolVersion: string;
  reporter?: Reporter;
  /** How long a fresh container must stay up to count as started (ms). */
  settleMs?: number;
}

/**
 * The Docker ContainerManager. Nothing connects until the first call;
 * dockerode itself is imported on creation (dynamic import), so only
 * commands that need containers pay for it.
 */
export async function createDockerContainerManager(options: DockerEndpointOptions): Promise<ContainerManager> {
  const socketPath = options.socketPath ?? DEFAULT_DOCKER_SOCKET;
  const client = await createDockerodeClient(socketPath);
  return createDockerManager({
    client,
    toolVersion: options.toolVersion,
    endpoint: { socketPath, remote: options.host !== undefined, where: options.host ? `on ${options.host}` : `at ${socketPath}` },
    ...(options.hostSocket && options.hostSocket !== DEFAULT_DOCKER_SOCKET ? { cliSocket: options.hostSocket } : {}),
    ...(options.reporter ? { reporter: options.reporter } : {}),
    ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
  });
}
