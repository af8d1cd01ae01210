import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { joinShellCommand } from '../../core/shell-quote.ts';
import { LockTimeoutError, withLock } from '../../infrastructure/file-lock.ts';
import { holdProcess, isCommandNotFound, runProcess, type HeldProcess, type ProcessHolder, type ProcessResult, type ProcessRunner } from '../../infrastructure/process.ts';
import { controlDirCandidates, controlSocketName, ensurePrivateDir } from './control-path.ts';
import { fastContainerExec, fastExec, fastTreeDigest, type FastCallOptions, type FastForward } from './fast-exec.ts';
import { fastChannelEnabled, fastRsyncShell, readFastChannel, saveFastChannel, type FastChannel, type FastContainerQuestion } from './fast-channel.ts';
import { loadResolution, masterAnswers, saveResolution } from './master-probe.ts';
import { classifySshFailure, sshNotInstalled, sshTimedOut, stderrTail, type SshFailureContext } from './errors.ts';
import { quoteRsyncArg } from './rsync-quote.ts';
import { formatTarget, type SshTarget } from './target.ts';

/** What `ssh -O …` says when no master listens on the control socket any more. */
const MASTER_GONE = /Control socket connect|No such file or directory|master is not running|No ControlPath specified/i;
import type { ExecOptions, ExecResult, Forward, ForwardSpec, ResolvedHost, ScriptOptions, SshService } from './types.ts';

export interface SshManagerOptions {
  env: NodeJS.ProcessEnv;
  /** paths.stateDir: home of the control sockets when XDG_RUNTIME_DIR is not set. */
  stateDir: string;
  homeDir: string;
  /** May ssh ask for a passphrase? When false, BatchMode=yes makes it fail instead of hang. */
  interactive: boolean;
  reporter?: Reporter;
  /** Injected in unit tests. */
  runner?: ProcessRunner;
  /** Starts the session that keeps a master alive under a forward; with an injected runner, none unless given. */
  holder?: ProcessHolder;
  sleep?: (ms: number) => Promise<void>;
}

export const SSH_CONFIG_ENV = 'MLTOOLBOX_SSH_CONFIG';
export const KNOWN_HOSTS_ENV = 'MLTOOLBOX_KNOWN_HOSTS';
export const PERSIST_ENV = 'MLTOOLBOX_SSH_PERSIST';
const DEFAULT_PERSIST = '10m';
const DEFAULT_CONNECT_TIMEOUT_S = 10;
export const SERVER_ALIVE_INTERVAL_S = 5;
export const SERVER_ALIVE_COUNT_MAX = 3;
/** ssh -G and -O requests never touch the network; they answer at once. */
const LOCAL_SSH_TIMEOUT_MS = 10_000;
/** A tree digest: the host stats every listed path (a second or two for a million); past this the sync runs rsync instead. */
const FAST_TREE_TIMEOUT_MS = 30_000;

export function createSshManager(options: SshManagerOptions): SshService {
  return new SshManager(options);
}

class SshManager implements SshService {
  private readonly options: SshManagerOptions;
  private readonly run: ProcessRunner;
  private readonly resolved = new Map<string, Promise<ResolvedHost>>();
  private readonly masters = new Map<string, Promise<void>>();
  private controlDir: string | null | undefined; // null: no safe folder, multiplexing off

  constructor(options: SshManagerOptions) {
    this.options = options;
    this.run = options.runner ?? runProcess;
  }

  // --- knobs --------------------------------------------------------------

  /** MLTOOLBOX_SSH_CONFIG, else the target's remote.ssh_config, else ssh's own (~/.ssh/config). */
  private configFile(target: SshTarget): string | undefined {
    const fromEnv = this.options.env[SSH_CONFIG_ENV];
    const value = fromEnv || target.sshConfigFile;
    if (!value) return undefined;
    const file = value.startsWith('~/') ? join(this.options.homeDir, value.slice(2)) : value;
    if (!existsSync(file)) {
      const source = fromEnv ? SSH_CONFIG_ENV : 'remote.ssh_config';
      throw new UserError('SSH_CONFIG_NOT_FOUND', `${source} names ${file}, which does not exist`,
        fromEnv ? `fix the path, or unset ${SSH_CONFIG_ENV} to use your normal ssh config (~/.ssh/config)`
          : 'fix remote.ssh_config (mltoolbox config show remote), or remove it to use ~/.ssh/config');
    }
    return file;
  }

  private get knownHostsFile(): string | undefined {
    return this.options.env[KNOWN_HOSTS_ENV] || undefined;
  }

  private get persist(): string {
    const value = this.options.env[PERSIST_ENV]?.trim();
    if (!value) return DEFAULT_PERSIST;
    // ssh reads ControlPersist=0 as "forever", the opposite of what 0 suggests: refuse it.
    if (!/^\d+[smhdw]?$/i.test(value) || /^0+[smhdw]?$/i.test(value)) {
      throw new UserError('USAGE', `${PERSIST_ENV}='${value}' is not a positive duration`,
        `set it to seconds or a number with a unit, e.g. ${PERSIST_ENV}=60s or ${PERSIST_ENV}=10m (1s closes the connection right after each command)`);
    }
    return value;
  }

  private controlPath(target: SshTarget): string | undefined {
    if (this.controlDir === undefined) {
      this.controlDir = ensurePrivateDir(controlDirCandidates(this.options.env, this.options.stateDir)) ?? null;
      if (this.controlDir === null) this.options.reporter?.debug('ssh: no private short folder for control sockets; not multiplexing');
    }
    if (this.controlDir === null) return undefined;
    // Everything that changes who we connect to, or how the host is verified, gets its own master.
    const name = controlSocketName([target.host, target.user ?? '', target.port ?? 0, target.identityFile ?? '', this.configFile(target) ?? '', target.hostKey?.alias ?? this.knownHostsFile ?? '']);
    return join(this.controlDir, name);
  }

  private key(target: SshTarget): string {
    return JSON.stringify([target.host, target.user, target.port, target.identityFile, target.connectTimeout, target.sshConfigFile, target.hostKey?.alias, target.hostKey?.firstContact]);
  }

  // --- argv ---------------------------------------------------------------

  /** -F and the target's own settings: what ssh -G also needs to resolve like the real run. */
  private baseOptions(target: SshTarget): string[] {
    const args: string[] = [];
    const configFile = this.configFile(target);
    if (configFile) args.push('-F', configFile);
    if (target.identityFile) args.push('-i', target.identityFile, '-o', 'IdentitiesOnly=yes');
    if (target.user) args.push('-l', target.user);
    if (target.port !== undefined) args.push('-p', String(target.port));
    return args;
  }

  sshOptions(target: SshTarget): string[] {
    const args = this.baseOptions(target);
    const cached = this.cachedResolution(target);
    if (!this.options.interactive) args.push('-o', 'BatchMode=yes');
    // accept-new: trust a host on first contact, refuse a changed key after. Never weaker; and a
    // user who asked for strict checking (yes) keeps it.
    if (target.hostKey) {
      // A provisioned instance: its own known_hosts entry, learned once, then required.
      args.push('-o', `StrictHostKeyChecking=${target.hostKey.firstContact ? 'accept-new' : 'yes'}`,
        '-o', `HostKeyAlias=${target.hostKey.alias}`, '-o', `UserKnownHostsFile=${target.hostKey.knownHostsFile}`);
    } else {
      if (cached?.strictHostKeyChecking !== 'true') args.push('-o', 'StrictHostKeyChecking=accept-new');
      if (this.knownHostsFile) args.push('-o', `UserKnownHostsFile=${this.knownHostsFile}`);
    }
    const timeout = target.connectTimeout ?? (cached?.connectTimeout === undefined ? DEFAULT_CONNECT_TIMEOUT_S : undefined);
    if (timeout !== undefined) args.push('-o', `ConnectTimeout=${timeout}`);
    const controlPath = this.controlPath(target);
    if (controlPath) {
      args.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${controlPath}`, '-o', `ControlPersist=${this.persist}`);
    } else {
      args.push('-o', 'ControlMaster=no', '-o', 'ControlPath=none');
    }
    // A dead network or a frozen host must not hang a command for the TCP timeout (minutes):
    // keepalives every 5 s, and after 3 unanswered the connection ends (~15 s), with SSH_CONNECTION_LOST.
    args.push('-o', `ServerAliveInterval=${SERVER_ALIVE_INTERVAL_S}`, '-o', `ServerAliveCountMax=${SERVER_ALIVE_COUNT_MAX}`);
    // Keeps "Permanently added ... to known hosts" out of output; real errors still show.
    args.push('-o', 'LogLevel=ERROR');
    return args;
  }

  sshArgs(target: SshTarget): string[] {
    return [...this.sshOptions(target), '--', target.host];
  }

  rsyncShell(target: SshTarget): string {
    return ['ssh', ...this.sshOptions(target)].map(quoteRsyncArg).join(' ');
  }

  fastChannel(target: SshTarget): FastChannel | undefined {
    if (!fastChannelEnabled(this.options.env)) return undefined;
    const controlPath = this.controlPath(target);
    return controlPath ? readFastChannel(controlPath) : undefined;
  }

  saveFastChannel(target: SshTarget, channel: FastChannel | undefined): void {
    const controlPath = this.controlPath(target);
    if (controlPath) saveFastChannel(controlPath, channel);
  }

  async fastChannelAnswers(target: SshTarget, channel: FastChannel): Promise<boolean> {
    let out = '';
    const collect = new Writable({ write(chunk: Buffer, _encoding, done) { out += chunk.toString(); done(); } });
    const code = await this.fastExec(target, channel, 'echo mlt-fast-ok', { stdin: false, io: { stdin: Readable.from([]), stdout: collect, stderr: collect }, timeoutMs: LOCAL_SSH_TIMEOUT_MS });
    return code === 0 && out === 'mlt-fast-ok\n';
  }

  fastExec(target: SshTarget, channel: FastChannel, command: string, options: FastCallOptions): Promise<number | undefined> {
    return fastExec({ ...options, ...this.fastWays(target, channel), channel, command, env: this.options.env });
  }

  fastContainerExec(target: SshTarget, channel: FastChannel, question: FastContainerQuestion, options: FastCallOptions): Promise<number | 'unavailable' | { refused: string }> {
    return fastContainerExec({ ...options, ...this.fastWays(target, channel), channel, question, env: this.options.env });
  }

  /** The host's treeDigest of `entries` under `root`, from the fast channel; undefined when it cannot tell. */
  fastTreeDigest(target: SshTarget, channel: FastChannel, root: string, entries: readonly string[]): Promise<string | undefined> {
    return fastTreeDigest({ ...this.fastWays(target, channel), channel, root, entries, env: this.options.env, timeoutMs: FAST_TREE_TIMEOUT_MS });
  }

  /**
   * The two ways to the server: a local socket the master forwards to it
   * (beside the control socket, in its private folder; no process to start),
   * and `ssh -W` through the master when that cannot be had.
   */
  private fastWays(target: SshTarget, channel: FastChannel): { sshArgs: string[]; forward?: FastForward } {
    const sshArgs = [...this.sshOptions(target), '-W', `127.0.0.1:${channel.port}`, '--', target.host];
    const controlPath = this.controlPath(target);
    const socket = controlPath && `${controlPath}.${channel.port}.fwd`;
    // A Unix socket's path is limited (104 bytes on macOS, 108 on Linux).
    if (!socket || socket.includes(':') || Buffer.byteLength(socket) > 100) return { sshArgs };
    const addArgs = [...this.sshOptions(target), '-o', 'StreamLocalBindUnlink=yes', '-O', 'forward', '-L', `${socket}:127.0.0.1:${channel.port}`, '--', target.host];
    return { sshArgs, forward: { socket, addArgs } };
  }

  fastRsyncShell(target: SshTarget, channel: FastChannel): string {
    return fastRsyncShell(this.controlPath(target)!, channel, ['ssh', ...this.sshOptions(target)]);
  }

  rsyncRemote(target: SshTarget, path: string): string {
    return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${path}`;
  }

  // --- resolution and errors --------------------------------------------

  private readonly resolvedValues = new Map<string, ResolvedHost>();

  private cachedResolution(target: SshTarget): ResolvedHost | undefined {
    return this.resolvedValues.get(this.key(target));
  }

  resolve(target: SshTarget): Promise<ResolvedHost> {
    const key = this.key(target);
    let pending = this.resolved.get(key);
    if (!pending) {
      pending = this.resolveNow(target).then((host) => {
        this.resolvedValues.set(key, host);
        return host;
      });
      pending.catch(() => this.resolved.delete(key));
      this.resolved.set(key, pending);
    }
    return pending;
  }

  private async resolveNow(target: SshTarget): Promise<ResolvedHost> {
    const result = await this.ssh(['-G', ...this.baseOptions(target), '--', target.host], { timeoutMs: LOCAL_SSH_TIMEOUT_MS });
    if (result.code !== 0) {
      throw new UserError('SSH_UNREACHABLE', `ssh cannot read the settings for ${formatTarget(target)}: ${stderrTail(result.stderr, 1)[0] ?? `exit ${result.code}`}`,
        `check your ssh config: ${joinShellCommand(['ssh', '-G', ...this.baseOptions(target), target.host])}`);
    }
    const values = new Map<string, string>();
    for (const line of result.stdout.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0 && !values.has(line.slice(0, space))) values.set(line.slice(0, space), line.slice(space + 1).trim());
    }
    const connectTimeout = Number(values.get('connecttimeout'));
    return {
      hostname: values.get('hostname') ?? target.host,
      port: Number(values.get('port') ?? target.port ?? 22),
      user: values.get('user') ?? target.user ?? '',
      strictHostKeyChecking: values.get('stricthostkeychecking') ?? 'ask',
      ...(Number.isFinite(connectTimeout) && connectTimeout > 0 ? { connectTimeout } : {}),
    };
  }

  private failureContext(target: SshTarget): SshFailureContext {
    const resolved = this.cachedResolution(target);
    const port = resolved?.port ?? target.port ?? 22;
    const hostname = resolved?.hostname ?? target.host;
    const tryArgs = ['ssh'];
    // The same file ssh was given (with ~/ expanded): the hint's command must work when pasted.
    const configFile = this.configFile(target);
    if (configFile) tryArgs.push('-F', configFile);
    if (this.knownHostsFile) tryArgs.push('-o', `UserKnownHostsFile=${this.knownHostsFile}`);
    if (target.identityFile) tryArgs.push('-i', target.identityFile);
    if (target.port !== undefined) tryArgs.push('-p', String(target.port));
    tryArgs.push(target.user ? `${target.user}@${target.host}` : target.host, 'true');
    return {
      display: formatTarget(target),
      port,
      tryCommand: joinShellCommand(tryArgs),
      ...(this.knownHostsFile ? { knownHostsFile: this.knownHostsFile } : {}),
      knownHostsName: port === 22 ? hostname : `[${hostname}]:${port}`,
      connectTimeout: target.connectTimeout ?? resolved?.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S,
    };
  }

  /** The error for a failed connection: classified from ssh's stderr, else a generic one. */
  private connectionError(target: SshTarget, result: ProcessResult): UserError {
    const ctx = this.failureContext(target);
    if (result.timedOut) {
      return new UserError('SSH_TIMEOUT', `${ctx.display} did not complete the ssh connection within ${ctx.connectTimeout} s`,
        `check the host is up and answers ssh (${ctx.tryCommand}); on a slow link raise remote.connect_timeout`);
    }
    const classified = classifySshFailure(result.code ?? 255, result.stderr, ctx);
    if (classified) return classified;
    return new UserError('SSH_UNREACHABLE', `ssh to ${ctx.display} failed: ${stderrTail(result.stderr, 1)[0] ?? `exit ${result.code ?? result.signal}`}`,
      `try the connection yourself to see why: ${ctx.tryCommand.replace(/^ssh /, 'ssh -v ')}`,
      { details: stderrTail(result.stderr, 5) });
  }

  private async ssh(args: string[], options: Parameters<ProcessRunner>[2] = {}): Promise<ProcessResult> {
    this.options.reporter?.debug(`ssh ${joinShellCommand(args)}`);
    try {
      return await this.run('ssh', args, options);
    } catch (error) {
      if (isCommandNotFound(error)) throw sshNotInstalled(error);
      throw error;
    }
  }

  // --- master connection ------------------------------------------------

  async check(target: SshTarget): Promise<boolean> {
    const controlPath = this.controlPath(target);
    if (!controlPath || !existsSync(controlPath)) return false;
    // The master's own hello on its socket, in-process; only when it does not answer, ask ssh.
    if (await masterAnswers(controlPath)) return true;
    const result = await this.ssh([...this.sshOptions(target), '-O', 'check', '--', target.host], { timeoutMs: LOCAL_SSH_TIMEOUT_MS });
    return result.code === 0;
  }

  connect(target: SshTarget): Promise<void> {
    const key = this.key(target);
    let pending = this.masters.get(key);
    if (!pending) {
      pending = this.openMaster(target);
      // A failed attempt is not remembered: the next call tries again.
      pending.catch(() => this.masters.delete(key));
      this.masters.set(key, pending);
    }
    return pending;
  }

  /** Where what ssh -G said is kept while the master it was started with lives (see master-probe.ts). */
  private get resolutionDir(): string {
    return join(this.options.stateDir, 'ssh-resolved');
  }

  private async openMaster(target: SshTarget): Promise<void> {
    // A master we started is alive: reuse what ssh -G said then (no ssh process at all).
    const live = this.controlPath(target);
    if (live && (await this.check(target))) {
      const saved = loadResolution(this.resolutionDir, live);
      if (saved) {
        const key = this.key(target);
        this.resolvedValues.set(key, saved);
        if (!this.resolved.has(key)) this.resolved.set(key, Promise.resolve(saved));
        return;
      }
      // A master from before this was kept (or from an older mltoolbox): resolve once, then keep it too.
      saveResolution(this.resolutionDir, live, await this.resolve(target));
      return;
    }
    const resolved = await this.resolve(target);
    if (await this.check(target)) return;
    const timeoutS = target.connectTimeout ?? this.cachedResolution(target)?.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S;
    const timeoutMs = (timeoutS * 2 + 20) * 1000;
    const controlPath = this.controlPath(target);
    // Without multiplexing there is nothing to keep open: a plain probe proves the host answers.
    if (!controlPath) {
      const result = await this.ssh([...this.sshArgs(target), 'true'], { timeoutMs });
      if (result.code !== 0 || result.timedOut) throw this.connectionError(target, result);
      return;
    }
    // One master per host across processes: parallel cold commands would each start one,
    // and the losers of OpenSSH's socket race stay behind as plain -N connections.
    await withLock(`${controlPath}.lock`, async () => {
      if (await this.check(target)) return; // another process started it while we waited
      // -N -f: authenticate, then the master goes to the background (ControlPersist keeps it).
      const result = await this.ssh([...this.sshOptions(target), '-T', '-N', '-f', '--', target.host], { timeoutMs });
      if (result.code !== 0 || result.timedOut) throw this.connectionError(target, result);
      saveResolution(this.resolutionDir, controlPath, resolved);
    }, { timeoutMs: timeoutMs + 5000, purpose: `ssh ${formatTarget(target)}` }).catch((error: unknown) => {
      if (!(error instanceof LockTimeoutError)) throw error;
      throw new UserError('SSH_TIMEOUT', `another mltoolbox process (pid ${error.owner?.pid ?? '?'}) has been opening the connection to ${formatTarget(target)} for over ${Math.round(timeoutMs / 1000)} s`,
        `check the host answers (${this.failureContext(target).tryCommand}); if that process hangs, stop it (kill ${error.owner?.pid ?? 'PID'})`);
    });
  }

  async closeMaster(target: SshTarget): Promise<void> {
    this.masters.delete(this.key(target));
    const controlPath = this.controlPath(target);
    if (!controlPath || !existsSync(controlPath)) return;
    await this.ssh([...this.sshOptions(target), '-O', 'exit', '--', target.host], { timeoutMs: LOCAL_SSH_TIMEOUT_MS });
  }

  async waitForHost(target: SshTarget, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      try {
        await this.connect(target);
        return;
      } catch (error) {
        // Only a host that is not up yet is worth waiting for; a refused key will not fix itself.
        const transient = error instanceof UserError && (error.code === 'SSH_UNREACHABLE' || error.code === 'SSH_TIMEOUT');
        const left = deadline - Date.now();
        if (!transient || left <= 0) throw error;
        this.options.reporter?.debug(`ssh: ${formatTarget(target)} not reachable yet (attempt ${attempt}); retrying in ${Math.min(delay, left)} ms`);
        await sleep(Math.min(delay, left));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  // --- commands -----------------------------------------------------------

  async exec(target: SshTarget, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new UserError('USAGE', 'no command to run on the host', 'pass the command and its arguments');
    return this.runRemote(target, joinShellCommand(argv), options, argv.join(' '));
  }

  async execScript(target: SshTarget, script: string, options: ScriptOptions = {}): Promise<ExecResult> {
    const { input, args = [], ...rest } = options;
    const remote = joinShellCommand(['sh', '-s', '--', ...args]);
    return this.runRemote(target, remote, { ...rest, input: wrapScript(script, input) }, 'script');
  }

  private async runRemote(target: SshTarget, remoteCommand: string, options: ExecOptions, label: string): Promise<ExecResult> {
    await this.connect(target);
    const result = await this.ssh([...this.sshOptions(target), '-T', '--', target.host, remoteCommand], {
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    });
    const ctx = this.failureContext(target);
    if (result.timedOut) throw sshTimedOut(ctx, Math.round((options.timeoutMs ?? 0) / 1000), `'${shorten(label)}'`);
    if (result.code === null) {
      throw new UserError('REMOTE_COMMAND_FAILED', `'${shorten(label)}' on ${ctx.display} ended by signal ${result.signal}`,
        'run it again; if it keeps happening, check the host', { data: { host: ctx.display, signal: result.signal } });
    }
    const sshError = classifySshFailure(result.code, result.stderr, ctx);
    if (sshError) {
      this.masters.delete(this.key(target));
      throw sshError;
    }
    // 255 from a remote command, or from ssh whose shared connection died under it (killed, host frozen).
    if (result.code === 255 && this.controlPath(target) && !(await this.check(target))) {
      this.masters.delete(this.key(target));
      throw new UserError('SSH_CONNECTION_LOST', `the ssh connection to ${ctx.display} was lost while running '${shorten(label)}' (the host stopped answering, or the connection was closed)`,
        `check the host answers (${ctx.tryCommand}), then run the command again`, { details: stderrTail(result.stderr, 3), data: { host: ctx.display } });
    }
    if (result.code !== 0 && options.check !== false) {
      throw new UserError('REMOTE_COMMAND_FAILED', `'${shorten(label)}' failed on ${ctx.display} (exit ${result.code})`,
        `see its output below; to run it yourself: ${ctx.tryCommand.replace(/ true$/, '')}`,
        { details: stderrTail(result.stderr), data: { host: ctx.display, exitCode: result.code } });
    }
    return { code: result.code, stdout: result.stdout, stderr: result.stderr };
  }

  // --- forwards -----------------------------------------------------------

  /**
   * A session on the master that lasts until released (see forward). Under a short ControlPersist
   * (under a minute) it is waited for until it answers, bounded; with the default one the master
   * outlives the gap, so nothing waits. Undefined with an injected runner and no holder (unit tests).
   */
  private async holdMaster(target: SshTarget): Promise<HeldProcess | undefined> {
    const holder = this.options.holder ?? (this.options.runner ? undefined : holdProcess);
    if (!holder) return undefined;
    const args = [...this.sshOptions(target).map((arg) => (arg === 'ControlMaster=auto' ? 'ControlMaster=no' : arg)), '-T', '--', target.host, 'echo up; exec cat >/dev/null'];
    const held = holder('ssh', args, { env: this.options.env, readyTimeoutMs: LOCAL_SSH_TIMEOUT_MS });
    if (durationSeconds(this.persist) < 60) await held.ready;
    return held;
  }

  async forward(target: SshTarget, spec: ForwardSpec): Promise<Forward> {
    await this.connect(target);
    if (!this.controlPath(target)) {
      throw new UserError('SSH_UNREACHABLE', 'port forwarding needs a shared ssh connection, and no private folder for its socket was found',
        `set XDG_RUNTIME_DIR to a private folder (0700), or check ${this.options.stateDir} is writable`);
    }
    let localPart: string;
    let localPort: number | undefined;
    let localSocket: string | undefined;
    if (spec.local && 'socket' in spec.local) {
      localSocket = spec.local.socket;
      localPart = localSocket;
    } else {
      const bind = spec.local?.bind ?? '127.0.0.1';
      localPort = spec.local?.port || (await freeLocalPort(bind));
      localPart = `${bind.includes(':') ? `[${bind}]` : bind}:${localPort}`;
    }
    const remotePart = 'socket' in spec.remote
      ? spec.remote.socket
      : `${(spec.remote.host ?? 'localhost').includes(':') ? `[${spec.remote.host}]` : (spec.remote.host ?? 'localhost')}:${spec.remote.port}`;
    const forwardSpec = `${localPart}:${remotePart}`;
    const request = async (op: 'forward' | 'cancel'): Promise<ProcessResult> =>
      this.ssh([...this.sshOptions(target), '-O', op, '-L', forwardSpec, '--', target.host], { timeoutMs: LOCAL_SSH_TIMEOUT_MS });
    // A forward is not a session: between two uses of it (seconds between Docker API calls, a prompt)
    // the master would end after ControlPersist and take the forward with it. A session that reads
    // stdin until the forward closes keeps the master up exactly as long (and never becomes a master
    // itself). Under a short ControlPersist it is up before the forward is asked for, so the master
    // cannot end in between.
    let keeper = await this.holdMaster(target);
    let result = await request('forward');
    // A short ControlPersist (MLTOOLBOX_SSH_PERSIST=1s) ends the master between two steps of one
    // command; plain ssh commands start it again themselves (ControlMaster=auto), a forward cannot.
    if (result.code !== 0 && MASTER_GONE.test(result.stderr)) {
      this.masters.delete(this.key(target));
      await keeper?.release();
      await this.connect(target);
      keeper = await this.holdMaster(target);
      result = await request('forward');
    }
    if (result.code !== 0) {
      await keeper?.release();
      const reason = stderrTail(result.stderr, 1)[0] ?? `exit ${result.code}`;
      throw new UserError('SSH_UNREACHABLE', `cannot forward ${localPart} to ${remotePart} on ${formatTarget(target)}: ${reason}`,
        /in use|bind/i.test(reason) ? 'the local port is taken: choose another one' : `check the shared connection: ${joinShellCommand(['ssh', ...this.sshOptions(target), '-O', 'check', target.host])}`);
    }
    let closed = false;
    return {
      ...(localPort !== undefined ? { localPort } : {}),
      ...(localSocket !== undefined ? { localSocket } : {}),
      spec: forwardSpec,
      close: async () => {
        if (closed) return;
        closed = true;
        await request('cancel');
        await keeper?.release();
      },
    };
  }
}

/**
 * The script travels on stdin as the body of a function whose stdin is
 * /dev/null (or the given input), so a command inside that reads stdin
 * can never swallow the rest of the script. The input rides along as
 * base64 in the same stream: binary-safe, one round trip.
 */
export function wrapScript(script: string, input: string | Uint8Array | undefined): string {
  const body = script.endsWith('\n') ? script : `${script}\n`;
  const lines = ['__mlt_main() {', ':', body.trimEnd(), '}'];
  if (input === undefined) {
    lines.push(`__mlt_main "$@" </dev/null`);
  } else {
    const encoded = Buffer.from(input).toString('base64');
    lines.push(`printf '%s' '${encoded}' | base64 -d | __mlt_main "$@"`);
  }
  lines.push('exit $?', '');
  return lines.join('\n');
}

function shorten(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function freeLocalPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** A ControlPersist value (already checked: digits and an optional s/m/h/d/w) in seconds. */
function durationSeconds(value: string): number {
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[value.slice(-1).toLowerCase()];
  return unit === undefined ? Number(value) : Number(value.slice(0, -1)) * unit;
}
