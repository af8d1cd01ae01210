import type { ContainerManager, InteractiveExecOptions } from './types.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * The Docker CLI's `docker exec` line that runs argv in a container on the
 * user's terminal, run on the engine's host. Pure (no engine client loaded),
 * so a command that only execs never pays for the Docker API client.
 * `cliSocket`: the engine is not at the CLI's default socket (Podman, a second engine).
 */
export function dockerExecCommand(cliSocket: string | undefined, id: string, argv: readonly string[], exec: InteractiveExecOptions): string[] {
  return ['docker', ...(cliSocket ? ['-H', `unix://${cliSocket}`] : []), 'exec', ...(exec.stdin ? ['-i'] : []), ...(exec.tty ? ['-t'] : []),
    ...(exec.workdir ? ['-w', exec.workdir] : []), ...(exec.user ? ['-u', exec.user] : []),
    ...Object.entries(exec.env ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]), id, ...argv];
}

/** The engine's `docker exec` line for a host's engine socket, without loading the Docker client (what exec-only commands need). */
export function dockerInteractiveCommand(hostSocket?: string): ContainerManager['interactiveCommand'] {
  const cliSocket = hostSocket && hostSocket !== DEFAULT_DOCKER_SOCKET ? hostSocket : undefined;
  return async (id, argv, exec) => dockerExecCommand(cliSocket, id, argv, exec);
}
