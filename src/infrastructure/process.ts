import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';

/**
 * The one way mltoolbox runs another program: argv straight to execve
 * (never through a local shell, so nothing in an argument is parsed),
 * output captured, bounded by a timeout, cancellable by an AbortSignal.
 */

export interface RunProcessOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is closed at once. */
  input?: string | Uint8Array;
  /** Kill the child (SIGTERM, then SIGKILL after `killGraceMs`) when it runs longer. */
  timeoutMs?: number;
  /** The child's full environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting kills the child and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL on timeout or abort (default 2 s). */
  killGraceMs?: number;
  /** Keep at most this many bytes of each stream (default 32 MiB); the rest is dropped, not buffered. */
  maxOutputBytes?: number;
  /** Live output, e.g. for progress; the text is still captured. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ProcessResult {
  /** Exit status, or null when the child was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when we killed the child because `timeoutMs` passed. */
  timedOut: boolean;
}

/** The signature services take by injection, so unit tests can pass a fake. */
export type ProcessRunner = (command: string, args: readonly string[], options?: RunProcessOptions) => Promise<ProcessResult>;

const DEFAULT_MAX_OUTPUT = 32 * 1024 * 1024;
/**
 * After the child exits, how long we wait for its pipes to close. A
 * grandchild that inherited them (ssh's ControlPersist master, a daemon)
 * could keep them open for minutes; its output is not ours to wait for.
 */
const PIPE_DRAIN_MS = 500;

/** The program is not installed (or not on PATH): spawn failed with ENOENT. */
export function isCommandNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export const runProcess: ProcessRunner = (command, args, options = {}) => {
  const { input, timeoutMs, env, cwd, signal, killGraceMs = 2000, maxOutputBytes = DEFAULT_MAX_OUTPUT } = options;
  return new Promise<ProcessResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(command, [...args], { env: childEnv(env), cwd, stdio: ['pipe', 'pipe', 'pipe'], shell: false, windowsHide: true });

    const stdout = collector(maxOutputBytes, options.onStdout);
    const stderr = collector(maxOutputBytes, options.onStderr);
    child.stdout.on('data', stdout.push);
    child.stderr.on('data', stderr.push);

    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

    const terminate = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), killGraceMs);
      killTimer.unref();
    };
    const timeoutTimer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, timeoutMs);
    const onAbort = (): void => {
      terminate();
      finish(() => reject(signal!.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    function finish(settle: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      if (exit) clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    const resolveWithExit = (): void => {
      if (!exit) return;
      const result = { code: exit.code, signal: exit.signal, stdout: stdout.text(), stderr: stderr.text(), timedOut };
      finish(() => resolve(result));
    };

    child.on('error', (error) => {
      // Spawn failures (ENOENT, EACCES) arrive here; kill failures are harmless.
      if (child.pid === undefined) finish(() => reject(error));
    });
    child.on('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolveWithExit();
      }, PIPE_DRAIN_MS);
    });
    child.on('close', resolveWithExit);

    child.stdin.on('error', () => {}); // the child may exit (EPIPE) before reading all its input
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
};

function collector(maxBytes: number, onChunk: ((chunk: string) => void) | undefined) {
  const chunks: Buffer[] = [];
  const decoder = new StringDecoder('utf8'); // a UTF-8 character may straddle two chunks
  let size = 0;
  return {
    push: (chunk: Buffer): void => {
      if (onChunk) {
        const text = decoder.write(chunk);
        if (text !== '') onChunk(text);
      }
      if (size >= maxBytes) return;
      const kept = size + chunk.length > maxBytes ? chunk.subarray(0, maxBytes - size) : chunk;
      chunks.push(kept);
      size += kept.length;
    },
    text: (): string => Buffer.concat(chunks).toString('utf8'),
  };
}

/**
 * Runs a program on the user's own terminal (stdin, stdout, stderr inherited):
 * interactive shells, where the program owns the TTY (raw mode, resize,
 * Ctrl-C). Resolves with its exit code; a signal death maps to 128+n.
 */
export function runInteractive(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env: childEnv(options.env), ...(options.cwd ? { cwd: options.cwd } : {}) });
    // Ctrl-C belongs to the program in the foreground, not to us: park our
    // own SIGINT handlers (the CLI's "interrupted" exit) until it ends.
    const parked = process.listeners('SIGINT');
    process.removeAllListeners('SIGINT');
    const ignore = () => {};
    process.on('SIGINT', ignore);
    const restore = () => {
      process.off('SIGINT', ignore);
      for (const listener of parked) process.on('SIGINT', listener);
    };
    child.once('error', (error) => {
      restore();
      reject(error);
    });
    child.once('close', (code, signal) => {
      restore();
      resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 1) : 1));
    });
  });
}

/** A child that runs until released: see holdProcess. */
export interface HeldProcess {
  /** True once the program wrote its first output (it is up), false when it ended or did not within the bound. */
  ready: Promise<boolean>;
  /** Closes its stdin (the program's cue to end), then SIGTERM after a grace period; resolves when it is gone. */
  release(): Promise<void>;
}
export type ProcessHolder = (command: string, args: readonly string[], options?: { env?: NodeJS.ProcessEnv; readyTimeoutMs?: number }) => HeldProcess;

/**
 * Starts a program whose stdin stays open for as long as we hold it: e.g. an
 * ssh session that keeps a shared connection alive. `ready` says when it
 * first wrote something (its sign of being up); the rest of its output is
 * discarded. When this process dies, the pipe closes and the program sees
 * end of input too.
 */
export const holdProcess: ProcessHolder = (command, args, options = {}) => {
  const child = spawn(command, [...args], { env: childEnv(options.env), stdio: ['pipe', 'pipe', 'ignore'], shell: false, windowsHide: true });
  child.on('error', () => {}); // not installed, or gone: there is nothing held
  child.stdin.on('error', () => {});
  const ended = new Promise<void>((resolve) => {
    if (child.pid === undefined) resolve();
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  const exited = new Promise<void>((resolve) => {
    if (child.pid === undefined) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const ready = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), options.readyTimeoutMs ?? 30_000);
    timer.unref();
    child.stdout.once('data', () => resolve(true));
    void ended.then(() => resolve(false));
  }).finally(() => {
    child.stdout.resume(); // later output is drained, never buffered
    // Held, not waited for (once up): neither the child nor its pipes keep this process running.
    child.unref();
    for (const pipe of [child.stdin, child.stdout]) (pipe as unknown as { unref?: () => void }).unref?.();
  });
  return {
    ready,
    async release() {
      child.ref(); // waited for now: its end must keep this process running until it comes
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 2000);
      timer.unref();
      // Its exit, not 'close': close also waits for the unref'd stdout pipe, which a process it
      // left behind may hold open; with nothing else pending, Node then ends with exit code 13.
      await exited;
      clearTimeout(timer);
      child.stdout.destroy();
    },
  };
};

/** Variables that unlock our secrets stay with us: no child process (ssh, rsync, rclone, docker) inherits them. */
const PRIVATE_ENV = ['MLTOOLBOX_SECRET_PASSPHRASE'];

export function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const copy = { ...(env ?? process.env) };
  for (const name of PRIVATE_ENV) delete copy[name];
  return copy;
}
