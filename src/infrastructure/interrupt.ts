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
