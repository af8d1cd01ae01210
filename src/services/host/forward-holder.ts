import { childEnv } from '../../infrastructure/process.ts';
import { spawn } from 'node:child_process';
import { uniqueHex } from '../../core/digest.ts';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { runProcess } from '../../infrastructure/process.ts';
import { controlDirCandidates, ensurePrivateDir } from '../ssh/control-path.ts';
import type { SshTarget } from '../ssh/target.ts';
import type { SshService } from '../ssh/types.ts';

/**
 * A detached forward: its own background `ssh -f -N -L` with its own
 * connection and control socket, so it outlives the `connect` that made it,
 * the shared master's idle timer and `ssh -O exit` on the master. The
 * control socket answers `-O check` (its pid) and `-O exit` (a clean stop);
 * the pid is the fallback when the socket is gone.
 */
export interface Holder {
  pid: number;
  controlPath: string;
}

const LOCAL_SSH_TIMEOUT_MS = 10_000;
/** Options of the shared master that a holder must not inherit: it is a master of its own. */
const CONTROL_OPTION = /^Control(Master|Path|Persist)=/i;

export function holderDir(env: NodeJS.ProcessEnv, stateDir: string): string | undefined {
  return ensurePrivateDir(controlDirCandidates(env, stateDir));
}

/** The shared master's ssh options without its Control* settings. */
export function withoutControlOptions(options: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < options.length; i++) {
    if (options[i] === '-o' && CONTROL_OPTION.test(options[i + 1] ?? '')) {
      i++;
      continue;
    }
    kept.push(options[i]!);
  }
  return kept;
}

export async function startHolder(input: {
  ssh: SshService;
  target: SshTarget;
  dir: string;
  env: NodeJS.ProcessEnv;
  localPort: number;
  remotePort: number;
  /** The container port behind remotePort, for the PORT_BUSY hint. */
  containerPort?: number;
  timeoutMs?: number;
}): Promise<Holder> {
  // 16 characters like the master sockets (the folder was chosen to fit that length); a
  // non-hex first letter tells them apart from the masters' hex names.
  const controlPath = join(input.dir, `p${uniqueHex(8).slice(0, 15)}`);
  const log = `${controlPath}.log`;
  const spec = `127.0.0.1:${input.localPort}:127.0.0.1:${input.remotePort}`;
  const args = [
    ...withoutControlOptions(input.ssh.sshOptions(input.target)),
    '-o', 'ControlMaster=yes', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=no',
    // A port that cannot be bound is a failure now, not a silent background process.
    '-o', 'ExitOnForwardFailure=yes',
    '-f', '-N', '-T', '-L', spec, '--', input.target.host,
  ];
  // ssh -f keeps its stdio after forking (daemon(1, 1)): a pipe to us would stay open for the
  // holder's whole life, so its stderr goes to a private log file instead. A passphrase
  // prompt still reaches the user: ssh asks on /dev/tty.
  const fd = openSync(log, 'a', 0o600);
  let code: number | null;
  try {
    code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('ssh', args, { env: childEnv(input.env), stdio: ['ignore', 'ignore', fd] });
      const timer = setTimeout(() => child.kill('SIGTERM'), input.timeoutMs ?? 60_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
  } finally {
    closeSync(fd);
  }
  if (code !== 0) {
    const reason = readTail(log) ?? `ssh exited with ${code ?? 'a signal'}`;
    await rm(log, { force: true });
    if (/in use|bind/i.test(reason)) {
      throw new UserError('PORT_BUSY', `local port ${input.localPort} could not be bound: ${reason}`, `forward to another port: -p NEXT:${input.containerPort ?? input.remotePort}`);
    }
    throw new UserError('SSH_UNREACHABLE', `the background forward of port ${input.localPort} did not start: ${reason}`,
      'a detached forward logs in on its own connection without asking: load your key into ssh-agent (ssh-add) and try again');
  }
  const pid = await holderPid(controlPath);
  if (pid === undefined) {
    throw new UserError('SSH_UNREACHABLE', `the background forward of port ${input.localPort} started but does not answer on ${controlPath}`,
      'run the command again; if it repeats, check the log next to that socket');
  }
  return { pid, controlPath };
}

/** The holder's pid from its control socket, or undefined when it does not answer. */
export async function holderPid(controlPath: string): Promise<number | undefined> {
  if (!existsSync(controlPath)) return undefined;
  // -F /dev/null: only the socket matters here; the user's config has no say.
  const result = await runProcess('ssh', ['-F', '/dev/null', '-o', `ControlPath=${controlPath}`, '-O', 'check', 'mltoolbox-forward'], { timeoutMs: LOCAL_SSH_TIMEOUT_MS });
  const match = /pid=(\d+)/.exec(result.stderr);
  return result.code === 0 && match ? Number(match[1]) : undefined;
}

/** Whether the recorded pid still runs the holder of this socket (pids get reused). */
export async function holderRunning(pid: number, controlPath: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const command = await commandLine(pid);
  return command === undefined ? true : command.includes(controlPath);
}

/** Ends a holder: `-O exit` on its socket, else SIGTERM to its pid if it is still ours. */
export async function stopHolder(holder: { pid: number | null; controlPath: string }): Promise<void> {
  const viaSocket = existsSync(holder.controlPath)
    ? await runProcess('ssh', ['-F', '/dev/null', '-o', `ControlPath=${holder.controlPath}`, '-O', 'exit', 'mltoolbox-forward'], { timeoutMs: LOCAL_SSH_TIMEOUT_MS })
    : undefined;
  if (viaSocket?.code !== 0 && holder.pid !== null && (await holderRunning(holder.pid, holder.controlPath))) {
    try {
      process.kill(holder.pid, 'SIGTERM');
    } catch {
      // Gone between the check and the kill: what we wanted.
    }
  }
  await rm(holder.controlPath, { force: true });
  await rm(`${holder.controlPath}.log`, { force: true });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAccepts(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    // After a stalled event loop (a big module loading meanwhile) the timer and the connect
    // are due together and timers run first: let a pending connect win before giving up.
    socket.setTimeout(timeoutMs, () => setImmediate(() => done(false)));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function commandLine(pid: number): Promise<string | undefined> {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    // No /proc (macOS): ask ps.
    const result = await runProcess('ps', ['-o', 'command=', '-p', String(pid)], { timeoutMs: LOCAL_SSH_TIMEOUT_MS }).catch(() => undefined);
    return result?.code === 0 ? result.stdout : undefined;
  }
}

function readTail(file: string): string | undefined {
  try {
    const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^Warning: Permanently added/.test(l));
    return lines.at(-1);
  } catch {
    return undefined;
  }
}
