import type { InteractiveExecOptions } from './types.ts';

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
