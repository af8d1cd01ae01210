import { UserError } from '../../core/errors.ts';
import { DOCKER_INSTALL_DOCS, installDockerCommand, localHostFacts, startDockerCommand, type HostFacts } from '../diagnostics/host-facts.ts';
import { EngineError } from './engine-client.ts';

export interface EndpointDescription {
  /** "on gpu-box" or "at /var/run/docker.sock": used inside messages. */
  where: string;
  socketPath: string;
  /** True when the socket is a forward to another machine (hints then say "on the host"). */
  remote: boolean;
}

/**
 * Turns a connection-level failure into what the user can do about it.
 * API answers (statusCode set) are left to the caller, which knows what a
 * 404 or 409 means for its call; anything else becomes DOCKER_ENGINE_ERROR.
 */
export function toUserError(error: unknown, endpoint: EndpointDescription, doing: string): unknown {
  if (isConnectionDrop(error)) return connectionLost(endpoint, doing, error);
  if (error instanceof UserError || !(error instanceof EngineError)) return error;
  const { where, socketPath, remote } = endpoint;
  switch (error.errno) {
    case 'EACCES':
    case 'EPERM':
      return new UserError(
        'DOCKER_PERMISSION_DENIED',
        `permission denied on the Docker socket ${where}`,
        `add your user to the docker group${remote ? ' on the host' : ''}: sudo usermod -aG docker $USER, then log out and in again (or newgrp docker); mltoolbox doctor ${remote ? 'HOST' : 'local'} --fix does it`,
        { data: { socketPath }, cause: error },
      );
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new UserError(
        'DOCKER_UNREACHABLE',
        `cannot reach the Docker Engine ${where} (${error.errno === 'ENOENT' ? 'no socket' : 'connection refused'})`,
        remote
          ? 'mltoolbox doctor HOST says whether Docker is missing, stopped or refusing you there, and the command that fixes it (doctor HOST --fix runs it)'
          : localEngineHint(socketPath),
        { data: { socketPath }, cause: error },
      );
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
    case 'ESOCKETHANGUP':
      return new UserError(
        'DOCKER_UNREACHABLE',
        `the Docker Engine ${where} closed the connection while ${doing}`,
        remote
          ? 'mltoolbox doctor HOST says whether Docker is missing, stopped or refusing you there, and doctor HOST --fix fixes it (ssh HOST docker info shows the engine\'s own words)'
          : 'check Docker is running: docker info',
        { data: { socketPath }, cause: error },
      );
    default:
      return new UserError('DOCKER_ENGINE_ERROR', `the Docker Engine ${where} refused ${doing}: ${error.message}`, 'read the engine message above; docker info shows the engine state', {
        data: { socketPath, ...(error.statusCode ? { statusCode: error.statusCode } : {}) },
        cause: error,
      });
  }
}

/**
 * What to do when this machine's engine does not answer: install it, or start
 * it the way this machine can (systemd only where systemd runs).
 */
export function localEngineHint(socketPath: string, facts: HostFacts = localHostFacts()): string {
  if (!facts.dockerd) {
    const install = installDockerCommand(facts) ?? `install Docker Engine (${DOCKER_INSTALL_DOCS})`;
    return `the Docker Engine is not installed on this machine: ${install}, or let mltoolbox doctor local --fix do it`;
  }
  return `the Docker Engine is installed but not running: start it (${startDockerCommand(facts)}); if it runs elsewhere, point DOCKER_HOST at its socket (looked for ${socketPath})`;
}

/**
 * A response stream cut mid-way (`aborted`, `socket hang up`, a premature
 * close): the socket's far end went away — over ssh, usually the shared
 * connection (the place above us tells which).
 */
export function isConnectionDrop(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof UserError || (error instanceof EngineError && error.statusCode !== undefined)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE'
    || /^aborted$|socket hang up|premature close/i.test(error.message);
}

export function connectionLost(endpoint: EndpointDescription, doing: string, cause?: unknown): UserError {
  return new UserError('DOCKER_UNREACHABLE', `the connection to the Docker Engine ${endpoint.where} was lost while ${doing}`,
    endpoint.remote ? 'check the host answers (ssh HOST true) and its engine runs: mltoolbox doctor HOST says what is wrong there, mltoolbox doctor HOST --fix fixes it; then run the command again'
      : 'check Docker is running (docker info), then run the command again',
    { data: { socketPath: endpoint.socketPath }, cause });
}

/** Docker's wording when a host port is taken (by another container or a host process). */
export function isPortBusyMessage(message: string): boolean {
  return /port is already allocated|address already in use|bind: .*in use/i.test(message);
}

export function portBusy(message: string, cause: unknown): UserError {
  const port = /:(\d+)(?: failed| : |: bind)/.exec(message)?.[1] ?? /(\d{2,5})/.exec(message)?.[1];
  return new UserError(
    'PORT_BUSY',
    `port ${port ?? '?'} on the host's 127.0.0.1 is already in use`,
    `free it (ss -ltnp 'sport = :${port ?? 'PORT'}' on the host shows who holds it) or publish another port`,
    { data: port ? { port: Number(port) } : {}, details: [message], cause },
  );
}

export function containerNotFound(id: string, cause?: unknown): UserError {
  return new UserError('CONTAINER_NOT_FOUND', `no container ${id}`, 'list them with: mltoolbox ps (or docker ps -a)', { cause });
}

export function containerNotRunning(id: string, cause?: unknown): UserError {
  return new UserError('CONTAINER_NOT_RUNNING', `container ${id} is not running`, 'start it with: mltoolbox up', { cause });
}

export function imageNotFound(reference: string, where: string): UserError {
  return new UserError(
    'IMAGE_NOT_FOUND',
    `image ${reference} is not on the Docker Engine ${where}`,
    `mltoolbox never pulls implicitly: pull it on the host (docker pull ${reference}), or build it (environment.dockerfile)`,
    { data: { image: reference } },
  );
}
