import { UserError } from '../../core/errors.ts';
import { joinShellCommand } from '../../core/shell-quote.ts';
import { isCommandNotFound, runInteractive } from '../../infrastructure/process.ts';
import { isLocalPortFree, nextFreeLocalPort } from '../ports/local-ports.ts';
import { fastChannelEnabled, fastRsyncEnv, parseFastChannel, STOP_SERVERS_SCRIPT } from '../ssh/fast-channel.ts';
import type { SshTarget } from '../ssh/target.ts';
import type { ExecOptions, SshService } from '../ssh/types.ts';
import { startHolder, stopHolder } from './forward-holder.ts';
import type { ForwardPortOptions, Host, HostExecOptions, HostForward } from './types.ts';

export interface SshHostOptions {
  /** The name state and messages use (a saved alias, or the target as typed). */
  name: string;
  ssh: SshService;
  target: SshTarget;
  env: NodeJS.ProcessEnv;
  /** A private folder for detached forwards' control sockets (undefined: none could be made). */
  holderDir(): string | undefined;
}

const q = (word: string) => joinShellCommand([word]);

/** `cd DIR && env K=V argv…`, quoted word by word: nothing the user gave is parsed by the remote shell. */
function remoteCommand(argv: readonly string[], options: HostExecOptions): string {
  const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
  const command = joinShellCommand(env.length ? ['env', ...env, ...argv] : [...argv]);
  return options.workdir ? `cd ${q(options.workdir)} && ${command}` : command;
}

function sshExecOptions(options: HostExecOptions): ExecOptions {
  return {
    check: false,
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onStderr ? { onStderr: options.onStderr } : {}),
  };
}

/** A machine reached through the shared SSH master: every call rides the one connection. */
export function createSshHost(options: SshHostOptions): Host {
  const { ssh, target, name } = options;

  async function localPortFor(port: number, forward: ForwardPortOptions): Promise<number> {
    const wanted = forward.localPort && forward.localPort > 0 ? forward.localPort : port;
    const policy = forward.ifBusy ?? 'fail';
    if (policy === 'reuse' || (await isLocalPortFree(wanted))) return wanted;
    const next = await nextFreeLocalPort(wanted + 1);
    if (policy === 'next-free' && next !== undefined) return next;
    const container = forward.containerPort ?? port;
    throw new UserError('PORT_BUSY', `local port ${wanted} is already in use`,
      next ? `forward to another port: -p ${next}:${container} (port ${next} is free)` : `free port ${wanted} or pick another with -p LOCAL:${container}`);
  }

  async function detachedForward(port: number, localPort: number, containerPort: number): Promise<HostForward> {
    const dir = options.holderDir();
    if (!dir) {
      throw new UserError('SSH_UNREACHABLE', 'a detached forward needs a private folder for its ssh socket, and none was found',
        'set XDG_RUNTIME_DIR to a private folder (0700), or connect without --detach');
    }
    const holder = await startHolder({ ssh, target, dir, env: options.env, localPort, remotePort: port, containerPort });
    return { kind: 'detached', localPort, holder, close: () => stopHolder(holder) };
  }

  /** 255 is ssh's own failure, or the program's exit status: the shared connection tells which. */
  async function connectionKept(code: number): Promise<number> {
    if (code === 255 && !(await ssh.check(target).catch(() => false))) {
      throw new UserError('SSH_CONNECTION_LOST', `the ssh connection to ${name} was lost while the command ran (the host stopped answering, or the connection was closed)`,
        `check the host answers (ssh ${name} true), then run it again`, { data: { host: name } });
    }
    return code;
  }

  return {
    name,
    local: false,
    publishPortsOn: 'engine-host',
    imagesTravel: true,
    async projectFolder(_projectDir, place) {
      if (place.recorded?.startsWith('/')) return { path: place.recorded, synced: true };
      const { stdout } = await ssh.execScript(target, 'printf "%s\\n" "$HOME"');
      const home = stdout.trim().split('\n').pop() ?? '';
      if (!home.startsWith('/')) {
        throw new UserError('REMOTE_COMMAND_FAILED', 'could not read the home folder on the host', 'check that the remote user has a home folder: ssh HOST \'echo $HOME\'');
      }
      return { path: `${home.replace(/\/$/, '')}/${place.relative}`, synced: true };
    },
    rsync: {
      rsh: ssh.rsyncShell(target), destination: ssh.rsyncRemote(target, '').replace(/:$/, ''), sshArgs: ssh.sshArgs(target),
      fast() {
        const channel = ssh.fastChannel(target);
        if (!channel) return undefined;
        return {
          rsh: ssh.fastRsyncShell(target, channel),
          env: () => fastRsyncEnv(channel),
          forget: () => ssh.saveFastChannel(target, undefined),
          ...(channel.features?.includes('tree') ? { treeDigest: (root: string, entries: readonly string[]) => ssh.fastTreeDigest(target, channel, root, entries) } : {}),
        };
      },
    },
    async startFastChannel(agent) {
      if (!fastChannelEnabled(options.env)) return false;
      const saved = ssh.fastChannel(target);
      if (saved?.agent === agent.version && (await ssh.fastChannelAnswers(target, saved))) return true;
      // The saved server (another agent version, or not answering) is stopped; this one is started by the current agent.
      const result = await ssh.execScript(target, `${STOP_SERVERS_SCRIPT}\nexec "$a" serve`, { args: [agent.path, String(saved?.pid ?? '')], check: false, timeoutMs: 30_000 });
      const channel = result.code === 0 ? parseFastChannel(result.stdout) : undefined;
      // Saved only once it answers through the connection (a host may refuse forwarded channels: AllowTcpForwarding no).
      const answers = channel !== undefined && (await ssh.fastChannelAnswers(target, channel));
      if (channel && !answers) await ssh.execScript(target, STOP_SERVERS_SCRIPT, { args: [agent.path, String(channel.pid ?? '')], check: false, timeoutMs: 10_000 });
      ssh.saveFastChannel(target, answers ? { ...channel, agent: agent.version } : undefined);
      return answers;
    },
    sshArgs: ssh.sshArgs(target),
    async exec(argv, exec = {}) {
      const result = await ssh.exec(target, exec.env || exec.workdir ? ['sh', '-c', remoteCommand(argv, exec)] : argv, sshExecOptions(exec));
      return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
    },
    async execScript(script, { args, ...exec } = {}) {
      const result = await ssh.execScript(target, script, { ...sshExecOptions(exec), ...(args ? { args } : {}) });
      return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
    },
    async execInteractive(argv, interactive) {
      const command = remoteCommand(argv, { ...(interactive.workdir ? { workdir: interactive.workdir } : {}), ...(interactive.env ? { env: interactive.env } : {}) });
      // Without a terminal, through the fast channel when the host has one (no login shell); a channel that does not answer is forgotten.
      const channel = interactive.tty ? undefined : ssh.fastChannel(target);
      const fast = channel && (await ssh.fastExec(target, channel, command, { stdin: interactive.stdin }));
      if (channel && fast === undefined) ssh.saveFastChannel(target, undefined);
      const code = fast ?? await runInteractive('ssh', [interactive.tty ? '-t' : '-T', ...ssh.sshArgs(target), command], { env: options.env }).catch((error: unknown) => {
        if (!isCommandNotFound(error)) throw error;
        throw new UserError('SSH_NOT_INSTALLED', 'this needs the ssh program on this machine, and there is none on PATH', 'install the OpenSSH client (apt-get install openssh-client)');
      });
      return await connectionKept(code);
    },
    async execInContainer(exec) {
      const channel = ssh.fastChannel(target);
      if (!channel?.features?.includes('container')) return undefined;
      const outcome = await ssh.fastContainerExec(target, channel, exec, { stdin: exec.stdin });
      if (outcome === 'unavailable') ssh.saveFastChannel(target, undefined);
      if (typeof outcome !== 'number') return undefined;
      return await connectionKept(outcome);
    },
    async readFile(path) {
      const result = await ssh.exec(target, ['sh', '-c', 'test -e "$1" || exit 3; base64 < "$1"', 'sh', path], { check: false });
      if (result.code === 3) return undefined;
      if (result.code !== 0) {
        throw new UserError('REMOTE_COMMAND_FAILED', `could not read ${path} on ${name}: ${result.stderr.trim().split('\n').pop() ?? ''}`, `check the file and its permissions: ssh ${name} ls -l ${q(path)}`);
      }
      return Buffer.from(result.stdout.replace(/\s+/g, ''), 'base64');
    },
    async writeFile(path, data, write = {}) {
      const mode = (write.mode ?? 0o600).toString(8);
      await ssh.exec(target, ['sh', '-c', 'umask 077 && cat > "$1" && chmod "$2" "$1"', 'sh', path, mode], { input: data });
    },
    async mkdirp(path) {
      await ssh.exec(target, ['mkdir', '-p', '--', path]);
    },
    address: async () => (await ssh.resolve(target)).hostname,
    async forwardPort(port, forward = {}) {
      if (forward.protocol === 'udp') return undefined; // ssh -L carries TCP only
      const localPort = await localPortFor(port, forward);
      if (forward.detach) return detachedForward(port, localPort, forward.containerPort ?? port);
      const opened = await ssh.forward(target, { local: { port: localPort }, remote: { port, host: '127.0.0.1' } });
      return { kind: 'session', localPort: opened.localPort ?? localPort, close: () => opened.close() };
    },
  };
}
