import { UserError } from '../../core/errors.ts';

/**
 * Which engine socket a host's containers go through: remote.docker_socket
 * when set, else environment.engine's usual socket — Docker's, Podman's
 * rootful one for root, its rootless one ($XDG_RUNTIME_DIR) for anyone
 * else — or, with `auto`, the first of those that exists on the host.
 */
export type EngineKind = 'docker' | 'podman' | 'auto';

export const DOCKER_SOCKET = '/var/run/docker.sock';
export const PODMAN_ROOTFUL_SOCKET = '/run/podman/podman.sock';

const ROOTLESS_PODMAN = '"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/podman/podman.sock"';

/** The host-side script printing the socket for `engine` (one line); undefined when no probe is needed. */
export function engineSocketScript(engine: EngineKind): string | undefined {
  if (engine === 'docker') return undefined;
  const podman = `if [ "$(id -u)" = 0 ]; then echo ${PODMAN_ROOTFUL_SOCKET}; else echo ${ROOTLESS_PODMAN}; fi`;
  if (engine === 'podman') return podman;
  return `for s in ${DOCKER_SOCKET} ${PODMAN_ROOTFUL_SOCKET} ${ROOTLESS_PODMAN}; do if [ -S "$s" ]; then echo "$s"; exit 0; fi; done; echo ${DOCKER_SOCKET}`;
}

/** The probe's answer: the last line, an absolute path without spaces (shell start-up noise may come first). */
export function parseEngineSocket(stdout: string, where: string): string {
  const socket = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!/^\/[^\s]+$/.test(socket)) {
    throw new UserError('DOCKER_UNREACHABLE', `could not find the container engine's socket on ${where}`, 'name its path: remote.docker_socket for a host, DOCKER_HOST=unix://PATH for this machine (e.g. /run/podman/podman.sock); or set environment.engine: docker');
  }
  return socket;
}

export async function resolveEngineSocket(options: { engine?: EngineKind; socket?: string; where: string }, probe: (script: string) => Promise<string>): Promise<string> {
  if (options.socket) return options.socket;
  const script = engineSocketScript(options.engine ?? 'docker');
  return script ? parseEngineSocket(await probe(script), options.where) : DOCKER_SOCKET;
}
