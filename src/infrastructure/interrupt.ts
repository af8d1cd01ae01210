/**
 * Ctrl-C and SIGTERM as an AbortSignal, for work that must clean up before
 * the process ends (a launched cloud instance is terminated, not left
 * billing). While it is held, the CLI's own "exit at once" handlers are
 * parked; a second signal is ignored while cleanup runs (it is bounded),
 * and `release()` puts the CLI's handlers back.
 */
export interface InterruptGuard {
  signal: AbortSignal;
  /** Which signal arrived, once one did. */
  readonly received: NodeJS.Signals | undefined;
  release(): void;
}

export function guardInterrupts(onSignal?: (signal: NodeJS.Signals, count: number) => void): InterruptGuard {
  const controller = new AbortController();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const parked = new Map(signals.map((s) => [s, process.listeners(s)] as const));
  let received: NodeJS.Signals | undefined;
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count += 1;
    received ??= signal;
    onSignal?.(signal, count);
    if (!controller.signal.aborted) controller.abort(Object.assign(new Error(`interrupted (${signal})`), { name: 'AbortError', signal }));
  };
  for (const s of signals) {
    process.removeAllListeners(s);
    process.on(s, handler);
  }
  let released = false;
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    release() {
      if (released) return;
      released = true;
      for (const s of signals) {
        process.off(s, handler);
        for (const listener of parked.get(s) ?? []) process.on(s, listener as (...args: unknown[]) => void);
      }
    },
  };
}

/** The mark of the CLI's own handlers (src/cli/main.ts), which end the process at once: nothing to clean up. */
const EXITS_AT_ONCE = Symbol.for('mltoolbox.exitsAtOnce');
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Runs work that may hold the JavaScript thread for seconds (parsing and
 * validating a huge config) with the system's default action for SIGINT and
 * SIGTERM: a handler cannot run while the thread is busy, so Ctrl-C would
 * wait for the work to end; the default action ends the process at once
 * (status 130 or 143 in the shell). Only when the CLI's exit-at-once
 * handlers are the only ones: work under an InterruptGuard (a launched
 * instance to terminate) keeps its handler, and so waits.
 */
export async function withDefaultSignals<T>(work: () => Promise<T>): Promise<T> {
  // A signal that came while the thread was busy waits in the event loop (libuv reads it in
  // the poll phase): let its handler run first, or removing the handler would drop it and the
  // process would go on. Two turns: the first may run before this turn's poll has seen it.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  const parked = new Map(STOP_SIGNALS.map((s) => [s, process.rawListeners(s)] as const));
  const standAside = [...parked.values()].every((listeners) => listeners.length > 0 && listeners.every(exitsAtOnce));
  if (!standAside) return work();
  for (const signal of STOP_SIGNALS) process.removeAllListeners(signal);
  try {
    return await work();
  } finally {
    for (const [signal, listeners] of parked) {
      if (process.listenerCount(signal) === 0) for (const listener of listeners) process.on(signal, listener as (...args: unknown[]) => void);
    }
  }
}

function exitsAtOnce(listener: unknown): boolean {
  const original = (listener as { listener?: unknown }).listener ?? listener;
  return (original as Record<symbol, unknown>)[EXITS_AT_ONCE] === true;
}
