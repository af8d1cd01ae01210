import type { ContainerManager, InteractiveExecOptions } from './types.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * On a host whose engine is not at the docker CLI's default socket (Podman, a
 * second engine): its `docker` CLI when it has one (Docker's, or Podman's
 * `podman-docker` wrapper, which takes -H too), else Podman's own CLI, which
 * a Podman-only host (a cluster that allows only Podman) has instead. The
 * socket URL is $0 and the exec words "$@": nothing in them is parsed as sh.
 */
export const ENGINE_CLI_SCRIPT = 'if command -v docker >/dev/null 2>&1; then exec docker -H "$0" "$@"; fi; exec podman --url "$0" "$@"';

/**
 * The engine CLI's `exec` line that runs argv in a container on the
 * user's terminal, run on the engine's host. Pure (no engine client loaded),
 * so a command that only execs never pays for the Docker API client.
 * `cliSocket`: the engine is not at the CLI's default socket (Podman, a second engine).
 */
export function dockerExecCommand(cliSocket: string | undefined, id: string, argv: readonly string[], exec: InteractiveExecOptions): string[] {
  const words = ['exec', ...(exec.stdin ? ['-i'] : []), ...(exec.tty ? ['-t'] : []),
    ...(exec.workdir ? ['-w', exec.workdir] : []), ...(exec.user ? ['-u', exec.user] : []),
    ...Object.entries(exec.env ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]), id, ...argv];
  return cliSocket ? ['sh', '-c', ENGINE_CLI_SCRIPT, `unix://${cliSocket}`, ...words] : ['docker', ...words];
}

/** The engine's `docker exec` line for a host's engine socket, without loading the Docker client (what exec-only commands need). */
export function dockerInteractiveCommand(hostSocket?: string): ContainerManager['interactiveCommand'] {
  const cliSocket = hostSocket && hostSocket !== DEFAULT_DOCKER_SOCKET ? hostSocket : undefined;
  return async (id, argv, exec) => dockerExecCommand(cliSocket, id, argv, exec);
}
