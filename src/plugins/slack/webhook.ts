import { setTimeout as delay } from 'node:timers/promises';
/**
 * Posting to a Slack incoming webhook with bounded retries. A notification
 * is never worth stalling the user's connect, so every attempt has its own
 * timeout, the whole delivery has a deadline, and failures are returned, not
 * thrown. The webhook URL is a secret: no message built here contains it.
 */

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number; headers?: { get(name: string): string | null } }>;

export interface DeliveryOptions {
  /** Attempts in total, first one included. */
  attempts: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Wait before the 2nd attempt; doubled for each further attempt. */
  backoffMs: number;
  /** The whole delivery gives up once this much time has passed. */
  deadlineMs: number;
  /** Aborts the delivery (the hook's signal). */
  signal?: AbortSignal;
  fetch?: FetchLike;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export const DELIVERY_DEFAULTS = { attempts: 3, timeoutMs: 5_000, backoffMs: 500, deadlineMs: 15_000 } as const;

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  /** HTTP status of the last answer, when there was one. */
  status?: number;
  /** Why the last attempt failed, safe to log. */
  error?: string;
}

/** 429 and 5xx are worth another try; other 4xx mean the webhook or payload is wrong. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

export async function postWebhook(url: string, payload: unknown, options: DeliveryOptions): Promise<DeliveryResult> {
  const doFetch = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const now = options.now ?? Date.now;
  const deadline = now() + options.deadlineMs;
  const body = JSON.stringify(payload);
  let last: DeliveryResult = { ok: false, attempts: 0, error: 'not attempted' };

  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (options.signal?.aborted) return { ...last, error: 'cancelled' };
    const remaining = deadline - now();
    if (remaining <= 0) return { ...last, error: `${last.error ?? 'failed'}; gave up after ${options.deadlineMs} ms` };

    const limit = Math.min(options.timeoutMs, remaining);
    const timeout = AbortSignal.timeout(limit);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const response = await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
      if (response.status >= 200 && response.status < 300) return { ok: true, attempts: attempt, status: response.status };
      last = { ok: false, attempts: attempt, status: response.status, error: `HTTP ${response.status}` };
      if (!retryable(response.status)) return last;
    } catch (error) {
      last = { ok: false, attempts: attempt, error: !timeout.aborted ? describeFetchError(error) : limit < options.timeoutMs ? `no answer before the ${options.deadlineMs} ms deadline` : `no answer within ${limit} ms` };
    }
    if (attempt < options.attempts) {
      const wait = Math.min(options.backoffMs * 2 ** (attempt - 1), Math.max(0, deadline - now()));
      await sleep(wait, options.signal).catch(() => undefined);
    }
  }
  return last;
}

/** undici puts the useful part (ECONNREFUSED, ENOTFOUND) in `cause`; never the URL. */
function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as { code?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') return cause.code;
    if (error.name === 'AbortError') return 'cancelled';
    return error.name === 'TypeError' ? 'request failed' : error.name;
  }
  return 'request failed';
}
