import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, isUserError, UserError } from '../core/errors.ts';
import { ErrorCodes, type ErrorCode } from '../core/error-codes.ts';
import type { Reporter, TaskHandle } from '../core/reporter.ts';
import type { App } from '../app/create-app.ts';
import type { OperationSink } from '../app/relay-deps.ts';
import type { CommandContext, CommandInput, CommandResult, CommandSpec } from './command.ts';

/**
 * Operations (docs/relay.md#operations): `connect`, `sync` and `provision`
 * with `--op` or `--background` run in a detached worker process — this same
 * binary, with MLTOOLBOX_OPERATION_WORKER=1 — which registers the operation
 * with the relay and reports its progress there. The CLI that started it
 * follows it through the relay (Ctrl-C detaches, the worker goes on);
 * `ops watch ID` follows it again from anywhere with a user token; the
 * result stays in the relay's database.
 */
export const OPERATION_FLAGS = ['--op', '--background'] as const;
export const WORKER_ENV = 'MLTOOLBOX_OPERATION_WORKER';
/** How long the worker has to register with the relay before the launcher gives up. */
const REGISTER_MS = 30_000;

export function wantsOperation(spec: CommandSpec, input: CommandInput, env: NodeJS.ProcessEnv): boolean {
  return spec.operation !== undefined && env[WORKER_ENV] !== '1' && (input.options.op === true || input.options.background === true);
}

export function isWorker(spec: CommandSpec | undefined, env: NodeJS.ProcessEnv): boolean {
  return spec?.operation !== undefined && env[WORKER_ENV] === '1';
}

/** The operation's title: the command and its target only (never the rest of the line, which may carry values). */
function title(spec: CommandSpec, input: CommandInput): { title: string; target: string | null } {
  const target = typeof input.args.target === 'string' ? input.args.target : Array.isArray(input.args.targets) ? input.args.targets.join(' ') : null;
  return { title: `mltoolbox ${spec.name}${target ? ` ${target}` : ''}`, target };
}

/** Launches the worker, waits for its operation id, then follows it (or returns at once with --background). */
export async function launchOperation(context: CommandContext, spec: CommandSpec, input: CommandInput, io: { argv: readonly string[]; env: NodeJS.ProcessEnv; cwd: string }): Promise<CommandResult> {
  // A worker has no terminal to ask on.
  if (spec.operation === 'provision' && input.options.yes !== true) {
    throw new UserError('USAGE', 'an operation cannot ask before spending money', 'pass --yes with --op or --background (mltoolbox search shows what it would launch)');
  }
  // Fail here, with the reason, before a worker is spawned.
  await (await context.app.relay()).requireEndpoint();
  const logDir = join(context.app.paths.stateDir, 'operations');
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const log = join(logDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  const fd = openSync(log, 'a', 0o600);
  const argv = io.argv.filter((a) => !(OPERATION_FLAGS as readonly string[]).includes(a));
  // A worker has no terminal: connect sets everything up and opens no shell.
  if (spec.operation === 'connect' && !argv.includes('--no-attach')) argv.push('--no-attach');
  const child = spawn(process.execPath, [process.argv[1]!, ...argv], {
    cwd: io.cwd,
    env: { ...io.env, [WORKER_ENV]: '1' },
    stdio: ['ignore', fd, fd, 'pipe'],
    detached: true,
  });
  closeSync(fd);
  const registered = await new Promise<{ id?: string; error?: { code: string; message: string; hint?: string } }>((resolve) => {
    let text = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    const timer = setTimeout(() => resolve({ error: { code: 'OPERATION_START_FAILED', message: `the worker did not register within ${REGISTER_MS / 1000} s` } }), REGISTER_MS);
    pipe.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as { id?: string });
        } catch {
          resolve({ error: { code: 'OPERATION_START_FAILED', message: 'the worker sent an unreadable registration' } });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ error: { code: 'OPERATION_START_FAILED', message: `the worker exited (${code}) before registering` } });
    });
  });
  (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
  child.unref();
  if (!registered.id) {
    const error = registered.error!;
    if (child.exitCode === null) child.kill('SIGTERM');
    throw new UserError(error.code === 'RELAY_UNAVAILABLE' ? 'RELAY_UNAVAILABLE' : 'OPERATION_START_FAILED', `${error.message} (worker log: ${log})`, error.hint ?? `read ${log}; or run the command without --op`);
  }
  const id = registered.id;
  context.reporter.info(`operation ${id} started (worker pid ${child.pid}, log ${log})`);
  if (input.options.background === true) {
    return { result: { operation: id, state: 'running', log }, human: () => `${id}\nfollow it with: mltoolbox ops watch ${id}` };
  }
  context.reporter.info(`following it; Ctrl-C detaches (the work goes on): mltoolbox ops watch ${id}`);
  return followOperation(context, id);
}

/** Prints an operation's events until it finishes; Ctrl-C detaches. Its result, or its error as a UserError. */
export async function followOperation(context: CommandContext, id: string): Promise<CommandResult> {
  const relay = await context.app.relay();
  const controller = new AbortController();
  const detach = () => {
    controller.abort();
    context.reporter.info(`detached from ${id}; it goes on. Re-attach: mltoolbox ops watch ${id}`);
  };
  // Before main's handler (which exits with 130): the note first.
  process.prependOnceListener('SIGINT', detach);
  let final;
  try {
    final = await relay.watchOperation(id, (events) => {
      for (const event of events) {
        if (event.level === 'warn' || event.level === 'failed') context.reporter.warn(event.text);
        else if (event.level === 'success' || event.level === 'done') context.reporter.success(event.text);
        else context.reporter.info(event.text);
      }
    }, controller.signal);
  } finally {
    process.off('SIGINT', detach);
  }
  if (!final) return { result: { operation: id, state: 'running', detached: true } };
  if (final.state === 'failed' && final.error) {
    const code = final.error.code in ErrorCodes ? final.error.code as ErrorCode : 'OPERATION_FAILED';
    throw new UserError(code, `operation ${id}: ${final.error.message}`, final.error.hint ?? `see mltoolbox ops watch ${id}`);
  }
  if (final.state === 'cancelled') {
    const how = final.error ? ` (${final.error.code}: ${final.error.message})` : '';
    throw new UserError('OPERATION_CANCELLED', `operation ${id} was cancelled by ${final.cancelledBy ?? 'a user'}${how}`, final.kind === 'provision'
      ? 'a cancelled provision terminates what it launched: mltoolbox instances list shows nothing billing; run the command again to redo it'
      : 'run the command again to redo the work');
  }
  if (final.state === 'lost') {
    throw new UserError('OPERATION_START_FAILED', `operation ${id} lost its worker (no report for a while)`, `its worker ran on ${final.worker?.machine ?? '?'} as pid ${final.worker?.pid ?? '?'}; see its log under the state folder's operations/`);
  }
  return { result: { operation: id, state: final.state, result: final.result }, human: () => `operation ${id} ${final.state}` };
}

/**
 * The worker's side: a Reporter that prints as usual (to the worker's log)
 * and also reports to the relay, once `attach` gives it the operation's sink.
 */
export function operationReporter(inner: Reporter): { reporter: Reporter; attach(sink: Pick<OperationSink, 'push'>): void } {
  let sink: Pick<OperationSink, 'push'> | undefined;
  const push = (level: 'info' | 'warn' | 'success' | 'task' | 'progress', text: string, percent?: number) => sink?.push({ level, text, ...(percent === undefined ? {} : { percent }) });
  return {
    attach: (s) => { sink = s; },
    reporter: {
      info: (m) => { inner.info(m); push('info', m); },
      warn: (m) => { inner.warn(m); push('warn', m); },
      success: (m) => { inner.success(m); push('success', m); },
      debug: (m) => inner.debug(m),
      async task(title, work) {
        push('task', title);
        try {
          const value = await inner.task(title, (handle: TaskHandle) => work({
            update(detail) {
              handle.update(detail);
              const percent = /^(\d{1,3})%/.exec(detail)?.[1];
              push('progress', `${title}: ${detail}`, percent === undefined ? undefined : Math.min(100, Number(percent)));
            },
          }));
          push('success', title);
          return value;
        } catch (error) {
          push('warn', `${title}: failed`);
          throw error;
        }
      },
    },
  };
}

const EXITS_AT_ONCE = Symbol.for('mltoolbox.exitsAtOnce');
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs the worker's command and reports how it ended (its --json result, or its error) to the relay.
 *
 * Cancelling (`ops cancel`, docs/relay.md#cancelling): the relay tells the
 * worker, which stops the work the way Ctrl-C in a terminal would — SIGINT
 * to its own process group (the launcher started it as a group leader), so
 * rsync, ssh and hook processes stop with it, and a provision's interrupt
 * guard terminates what it launched before it returns. Where the CLI would
 * exit at once on a signal, the worker first tells the relay how it ended.
 */
export async function reportingTo(sink: OperationSink, work: () => Promise<CommandResult>, log = (line: string) => void process.stderr.write(`${line}\n`)): Promise<CommandResult> {
  let cancelledBy: string | undefined;
  let stopping = false;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const error = cancelledBy === undefined
      ? { code: 'INTERRUPTED', message: `the worker got ${signal} and stopped` }
      : { code: 'OPERATION_CANCELLED', message: `stopped at the request of ${cancelledBy}` };
    // Bounded: the relay being down must not keep a stopped worker alive.
    setTimeout(() => process.exit(ExitCode.interrupted), 15_000).unref();
    void sink.finish({ ok: false, exitCode: ExitCode.interrupted, error }).finally(() => process.exit(ExitCode.interrupted));
  };
  // The CLI's exit-at-once handlers (src/cli/main.ts) give way to onStop while the work runs.
  const parked = STOP_SIGNALS.map((signal) => {
    const exitsAtOnce = process.rawListeners(signal).filter((l) => {
      const original = ((l as { listener?: unknown }).listener ?? l) as Record<symbol, unknown>;
      return original[EXITS_AT_ONCE] === true;
    });
    for (const listener of exitsAtOnce) process.off(signal, listener as () => void);
    process.on(signal, onStop);
    return { signal, exitsAtOnce };
  });
  sink.watchCancel((by) => {
    cancelledBy = by ?? 'a user';
    log(`cancel requested by ${cancelledBy}: stopping the work (SIGINT to the worker's process group)`);
    try {
      process.kill(-process.pid, 'SIGINT');
    } catch {
      // Not a group leader (started by hand, not by the launcher): this process alone.
      process.kill(process.pid, 'SIGINT');
    }
  });
  let outcome: CommandResult;
  try {
    outcome = await work();
  } catch (error) {
    const known = isUserError(error);
    await sink.finish({
      ok: false,
      exitCode: known ? error.exitCode : ExitCode.internal,
      error: known ? { code: error.code, message: error.message, hint: error.hint } : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) },
    });
    throw error;
  } finally {
    for (const { signal, exitsAtOnce } of parked) {
      process.off(signal, onStop);
      for (const listener of exitsAtOnce) process.on(signal, listener as () => void);
    }
  }
  await sink.finish({ ok: (outcome.exitCode ?? 0) === 0, exitCode: outcome.exitCode ?? 0, ...(outcome.result === undefined ? {} : { result: outcome.result }) });
  return outcome;
}

/** Registers the worker's operation and tells the launcher on fd 3 (its id, or why not). */
export async function registerWorker(app: App, spec: CommandSpec, input: CommandInput) {
  const relay = await app.relay();
  const tell = async (message: unknown) => {
    const { createWriteStream } = await import('node:fs');
    await new Promise<void>((resolve) => {
      const out = createWriteStream('', { fd: 3 });
      out.on('error', () => resolve());
      out.end(`${JSON.stringify(message)}\n`, () => resolve());
    });
  };
  try {
    const registered = await relay.registerOperation({ kind: spec.operation!, ...title(spec, input) });
    await tell({ id: registered.id });
    return registered;
  } catch (error) {
    await tell({ error: error instanceof UserError ? { code: error.code, message: error.message, hint: error.hint } : { code: 'OPERATION_START_FAILED', message: String(error) } });
    throw error;
  }
}

