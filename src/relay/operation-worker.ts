import { cancelRequested, reportOperation, type OperationReport, type RelayEndpoint } from './client.ts';

/**
 * The worker's side of an operation: what its reporter prints is batched and
 * posted to the relay (at most every FLUSH_MS), an empty report every
 * HEARTBEAT_MS says it is alive, and `finish` posts the result. The relay
 * being down does not stop the work: reports wait in a bounded queue and are
 * sent when it answers again (the worker's log file keeps every line).
 */
export type OperationEventInput = OperationReport['events'][number];

export interface OperationSink {
  push(event: OperationEventInput): void;
  /** Posts what is queued, then the result (a few attempts, bounded). */
  finish(done: NonNullable<OperationReport['done']>): Promise<boolean>;
  /**
   * Calls `onCancel` once when `ops cancel` asks this operation to stop (a
   * long poll on the relay, one request at a time, until `finish`). The relay
   * being down only delays it.
   */
  watchCancel(onCancel: (by: string | null) => void): void;
}

const FLUSH_MS = 250;
const HEARTBEAT_MS = 10_000;
const QUEUE_MAX = 2000;
const BATCH = 500;
/** How long one cancel long poll waits on the relay. */
const CANCEL_POLL_MS = 20_000;

export function createOperationSink(relay: RelayEndpoint, id: string, options: { flushMs?: number; heartbeatMs?: number } = {}): OperationSink {
  let queue: OperationEventInput[] = [];
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> = Promise.resolve();
  // Reports are a little bigger than a status figure: give each one more time than the CLI's read bound.
  const endpoint = { ...relay, timeoutMs: Math.max(relay.timeoutMs, 5000) };

  const send = (report: OperationReport) => reportOperation(endpoint, id, report);
  const flush = (): Promise<void> => {
    timer = undefined;
    inflight = inflight.then(async () => {
      while (queue.length > 0) {
        const batch = queue.slice(0, BATCH);
        const answer = await send({ events: batch });
        if (!answer.ok) return; // kept; the next push or heartbeat tries again
        queue = queue.slice(batch.length);
      }
    });
    return inflight;
  };
  let finished = false;
  const stopPolling = new AbortController();
  const heartbeat = setInterval(() => {
    if (queue.length > 0) void flush();
    else void send({ events: [] });
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();

  return {
    push(event) {
      const entry = { ...event, text: event.text.slice(0, 4000) };
      // A progress line replaces the one still queued (rsync updates many times a second; the newest is what counts).
      if (entry.level === 'progress' && queue.at(-1)?.level === 'progress') queue[queue.length - 1] = entry;
      else queue.push(entry);
      if (queue.length > QUEUE_MAX) queue.splice(0, queue.length - QUEUE_MAX);
      timer ??= setTimeout(() => void flush(), options.flushMs ?? FLUSH_MS);
    },
    async finish(done) {
      finished = true;
      stopPolling.abort();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      await flush();
      for (let attempt = 0; attempt < 5; attempt++) {
        const answer = await send({ events: queue.splice(0, BATCH), done });
        if (answer.ok || answer.status === 409) return true;
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
      return false;
    },
    watchCancel(onCancel) {
      const pause = (ms: number) => new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stopPolling.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        timer.unref();
        stopPolling.signal.addEventListener('abort', done, { once: true });
      });
      void (async () => {
        while (!finished) {
          const answer = await cancelRequested(endpoint, id, CANCEL_POLL_MS, stopPolling.signal);
          if (finished) return;
          if (answer.ok && answer.value.requested) {
            onCancel(answer.value.by);
            return;
          }
          // Not asked (the poll timed out: ask again at once), or the relay did not answer (wait a little).
          if (!answer.ok) await pause(1000);
        }
      })();
    },
  };
}
