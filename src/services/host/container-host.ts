import { UserError } from '../../core/errors.ts';
import type { ContainerManager } from '../containers/types.ts';
import type { Host, HostExecOptions, HostExecResult } from './types.ts';

export interface ContainerHostOptions {
  containers: ContainerManager;
  /** The container's id (or name). */
  id: string;
  /** For messages: `the dev container on gpu-box`. */
  name: string;
  /** The machine running the engine: interactive commands and published ports go through it. */
  engineHost: Host;
  /** Default folder for commands (the project's workdir). */
  workdir?: string;
  /** The engine's socket on the engine's host: with it, a command without a terminal may go through the host's agent (Host.execInContainer). */
  engineSocket?: string;
}

/**
 * A container, through the ContainerManager: commands through the engine's
 * API, interactive ones as the engine's own CLI (`docker exec -it`, asked of
 * the manager) run on the engine's host — or, without a terminal, through
 * the engine host's agent when it has one — ports through what the
 * container publishes.
 */
export function createContainerHost(options: ContainerHostOptions): Host {
  const { containers, id, engineHost } = options;

  async function exec(argv: readonly string[], exec: HostExecOptions = {}): Promise<HostExecResult> {
    const workdir = exec.workdir ?? options.workdir;
    return containers.exec(id, argv, {
      ...(workdir ? { workdir } : {}),
      ...(exec.env ? { env: exec.env } : {}),
      ...(exec.input !== undefined ? { stdin: Buffer.from(exec.input) } : {}),
      ...(exec.signal ? { signal: exec.signal } : {}),
    });
  }

  const sh = (script: string, args: readonly string[], input?: string | Uint8Array) =>
    exec(['sh', '-c', script, 'sh', ...args], input === undefined ? {} : { input });

  return {
    name: options.name,
    local: false,
    publishPortsOn: engineHost.publishPortsOn,
    imagesTravel: engineHost.imagesTravel,
    projectFolder: (projectDir, place) => engineHost.projectFolder(projectDir, place),
    exec,
    execScript: (script, { args = [], ...rest } = {}) => exec(['sh', '-c', script, 'sh', ...args], rest),
    async execInteractive(argv, interactive) {
      const workdir = interactive.workdir ?? options.workdir;
      // Without a terminal, the engine's API on its host when the host's agent can call it (no engine CLI to start).
      if (!interactive.tty && engineHost.execInContainer && options.engineSocket) {
        const code = await engineHost.execInContainer({
          socket: options.engineSocket, id, argv: [...argv], stdin: interactive.stdin, ...(workdir ? { workdir } : {}), ...(interactive.env ? { env: interactive.env } : {}),
        });
        if (code !== undefined) return code;
      }
      const command = await containers.interactiveCommand(id, argv, {
        tty: interactive.tty, stdin: interactive.stdin, ...(workdir ? { workdir } : {}), ...(interactive.env ? { env: interactive.env } : {}),
      });
      return engineHost.execInteractive(command, { tty: interactive.tty, stdin: interactive.stdin });
    },
    async readFile(path) {
      const result = await sh('test -e "$1" || exit 3; base64 < "$1"', [path]);
      if (result.exitCode === 3) return undefined;
      if (result.exitCode !== 0) throw new UserError('REMOTE_COMMAND_FAILED', `could not read ${path} in ${options.name}: ${result.stderr.trim()}`, 'check the file and its permissions in the container');
      return Buffer.from(result.stdout.replace(/\s+/g, ''), 'base64');
    },
    async writeFile(path, data, write = {}) {
      const result = await sh('umask 077 && cat > "$1" && chmod "$2" "$1"', [path, (write.mode ?? 0o600).toString(8)], data);
      if (result.exitCode !== 0) throw new UserError('REMOTE_COMMAND_FAILED', `could not write ${path} in ${options.name}: ${result.stderr.trim()}`, 'check the folder exists and is writable in the container');
    },
    async mkdirp(path) {
      const result = await exec(['mkdir', '-p', '--', path]);
      if (result.exitCode !== 0) throw new UserError('REMOTE_COMMAND_FAILED', `could not create ${path} in ${options.name}: ${result.stderr.trim()}`, 'check the parent folder is writable in the container');
    },
    address: () => engineHost.address(),
    async forwardPort(port, forward = {}) {
      const protocol = forward.protocol ?? 'tcp';
      const published = (await containers.inspect(id))?.ports.find((p) => p.container === port && p.protocol === protocol);
      if (!published) {
        throw new UserError('USAGE', `container port ${port}/${protocol} is not published by ${options.name}`, `add it to environment.ports (or -p ${port}), then run 'mltoolbox connect' again`);
      }
      return engineHost.forwardPort(published.host, { containerPort: port, ...forward });
    },
  };
}
