import { UserError } from '../core/errors.ts';
import type { BackendOptions } from './types.ts';

/**
 * The one HTTP client of the provisioning backends (Node's fetch, i.e.
 * undici): a time limit on every call, bounded retries with exponential
 * backoff and full jitter for 429 (whatever the body: JSON, or Cloudflare's
 * HTML page), 5xx and connection resets, Retry-After honoured, and optional
 * minimum spacing per route (Lambda: one launch per 12 s). Every loop is
 * bounded in attempts and in total time.
 */

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined (empty, HTML, plain text). */
  json: unknown;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /**
   * Safe to repeat after a 5xx or a lost connection. False for launches: a
   * 5xx may still have created a (billing) instance, so the caller looks it
   * up by name instead of launching twice. 429 is always retried: the
   * provider refused the request before acting on it.
   */
  idempotent?: boolean;
  /** Spacing key: requests with the same key are at least `spacingMs` apart. */
  spacing?: { key: string; ms: number };
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8_000;
/** A Retry-After longer than this is not waited for: the error tells the user when to come back. */
const RETRY_AFTER_CAP_MS = 60_000;
/** All retries of one request end within this. */
const TOTAL_BUDGET_MS = 120_000;

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isReset(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|EAI_AGAIN|ENOTFOUND)$/.test(code)
    || (error instanceof TypeError && /fetch failed|terminated|other side closed/i.test(error.message));
}

export class HttpClient {
  private readonly lastAt = new Map<string, number>();
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;

  private readonly provider: string;
  private readonly options: BackendOptions;
  private readonly headers: () => Record<string, string>;

  constructor(provider: string, options: BackendOptions, headers: () => Record<string, string>) {
    this.provider = provider;
    this.options = options;
    this.headers = headers;
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_ATTEMPTS);
  }

  url(path: string, query?: RequestOptions['query']): string {
    const base = this.options.baseUrl.replace(/\/+$/, '');
    const url = new URL(base + path);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  /**
   * Sends the request; returns the final response whatever its status (the
   * backend maps error bodies), after retrying what may be retried. Throws
   * PROVIDER_UNAVAILABLE when the provider never answered.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const idempotent = options.idempotent ?? (method === 'GET' || method === 'DELETE');
    const started = this.now();
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      if (options.spacing) await this.waitSpacing(options.spacing, options.signal);
      let response: HttpResponse | undefined;
      try {
        response = await this.once(method, path, options);
        // A refused (429) call was not acted on: it does not start a new spacing interval.
        if (options.spacing && response.status !== 429) this.lastAt.set(options.spacing.key, this.now());
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        lastError = error;
        const timedOut = (error as Error)?.name === 'TimeoutError';
        // A launch whose connection broke may have happened: never send it twice.
        if (!idempotent || !(isReset(error) || timedOut)) throw this.unavailable(method, path, error);
      }
      if (response && !this.retryable(response.status, idempotent)) return response;
      const delay = this.delay(attempt, response);
      const budgetLeft = TOTAL_BUDGET_MS - (this.now() - started);
      const waitTooLong = response?.status === 429 && delay > RETRY_AFTER_CAP_MS;
      if (attempt >= this.maxAttempts || delay > budgetLeft || waitTooLong) {
        if (response) return response;
        throw this.unavailable(method, path, lastError);
      }
      this.options.debug?.(`${this.provider}: ${method} ${path} → ${response ? response.status : describe(lastError)}; retry ${attempt}/${this.maxAttempts - 1} in ${Math.round(delay)} ms`);
      await this.sleep(delay, options.signal);
    }
  }

  private retryable(status: number, idempotent: boolean): boolean {
    return status === 429 || (idempotent && (status >= 500 && status <= 599));
  }

  /** Retry-After when given (a 429 or 503 says how long), else full-jitter exponential backoff. */
  private delay(attempt: number, response: HttpResponse | undefined): number {
    const retryAfter = response ? parseRetryAfter(response.headers.get('retry-after'), this.now()) : undefined;
    if (retryAfter !== undefined) return retryAfter + this.random() * 250;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  private async waitSpacing(spacing: { key: string; ms: number }, signal?: AbortSignal): Promise<void> {
    const last = this.lastAt.get(spacing.key);
    const wait = last === undefined ? 0 : last + spacing.ms - this.now();
    if (wait > 0) {
      this.options.debug?.(`${this.provider}: waiting ${Math.ceil(wait / 1000)} s (rate limit of ${spacing.key})`);
      await this.sleep(wait, signal);
    }
  }

  private async once(method: string, path: string, options: RequestOptions): Promise<HttpResponse> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const init: RequestInit = {
      method,
      signal,
      headers: { accept: 'application/json', ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...this.headers() },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    };
    const response = await this.fetchImpl(this.url(path, options.query), init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: parseJson(text) };
  }

  private unavailable(method: string, path: string, error: unknown): UserError {
    const timedOut = (error as Error)?.name === 'TimeoutError';
    return new UserError('PROVIDER_UNAVAILABLE',
      `${this.provider} did not answer ${method} ${path}: ${timedOut ? `no response within ${Math.round(this.timeoutMs / 1000)} s` : describe(error)}`,
      `check your network and ${this.options.baseUrl}; try again in a minute`,
      { cause: error, data: { provider: this.provider } });
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** A short, single-line excerpt of a body for messages (HTML pages reduced to their title). */
export function bodyExcerpt(text: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1];
  const plain = (title ?? text).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > 160 ? `${plain.slice(0, 157)}...` : plain;
}
