import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UserError } from '../../core/errors.ts';
import { isCommandNotFound, runInteractive, runProcess, type ProcessRunner } from '../../infrastructure/process.ts';
import type { Host, HostExecOptions, HostExecResult } from './types.ts';

/** This machine: child processes and node:fs. Ports need no forward: they are here. */
export function createLocalHost(options: { env: NodeJS.ProcessEnv; runner?: ProcessRunner }): Host {
  const runner = options.runner ?? runProcess;

  async function exec(argv: readonly string[], exec: HostExecOptions = {}): Promise<HostExecResult> {
    const [command, ...args] = argv;
    if (command === undefined) throw new UserError('USAGE', 'no command to run', 'pass the command and its arguments');
    const { env, workdir, ...rest } = exec;
    try {
      const result = await runner(command, args, { ...rest, env: { ...options.env, ...env }, ...(workdir ? { cwd: workdir } : {}) });
      return { exitCode: result.code ?? 128, stdout: result.stdout, stderr: result.stderr };
    } catch (error) {
      // The shell's answer for a missing program, so callers read one result for every host.
      if (isCommandNotFound(error)) return { exitCode: 127, stdout: '', stderr: `${command}: command not found` };
      throw error;
    }
  }

  return {
    name: 'local',
    local: true,
    publishPortsOn: 'this-machine',
    imagesTravel: false,
    projectFolder: async (projectDir) => ({ path: projectDir, synced: false }),
    exec,
    execScript: (script, { args = [], ...rest } = {}) => exec(['sh', '-c', script, 'sh', ...args], rest),
    async execInteractive(argv, interactive) {
      const [command, ...args] = argv;
      if (command === undefined) throw new UserError('USAGE', 'no command to run', 'pass the command and its arguments');
      return runInteractive(command, args, { env: { ...options.env, ...interactive.env } }).catch((error: unknown) => {
        if (!isCommandNotFound(error)) throw error;
        throw new UserError('USAGE', `this needs the ${command} program on this machine, and there is none on PATH`,
          command === 'docker' ? 'install the Docker CLI (apt-get install docker.io, or docker-ce-cli)' : `install ${command}`);
      });
    },
    readFile: (path) => readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    }),
    writeFile: (path, data, write = {}) => writeFile(path, data, { mode: write.mode ?? 0o600 }),
    mkdirp: async (path) => void (await mkdir(path, { recursive: true })),
    address: async () => hostname(),
    // The engine publishes on this machine's 127.0.0.1: the port is already here, whatever the protocol.
    forwardPort: async (port) => ({ kind: 'published', localPort: port, close: async () => {} }),
  };
}
