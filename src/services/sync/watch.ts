import { watch as watchFiles, type FSWatcher } from 'node:fs';
import { posix, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUserError, UserError } from '../../core/errors.ts';
import type { FilterRule } from './filters.ts';
import { IgnoreMatcher } from './ignore-matcher.ts';
import type { PushRequest, SyncSummary, WatchEvent, WatchRequest } from './types.ts';

export const DEFAULT_DEBOUNCE_MS = 75;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;
const FIRST_RETRY_MS = 1000;

export interface WatchDeps {
  push(request: PushRequest): Promise<SyncSummary>;
  /** The push's filters for this folder, read again when .dockerignore changes. */
  loadFilters(localDir: string): FilterRule[];
}

/** Failures worth retrying by themselves: the network, not the setup. */
function isTransient(error: unknown): boolean {
  return isUserError(error) && error.code === 'SYNC_CONNECTION_FAILED';
}

/**
 * Collects changed paths and hands them out once no change came for
 * `debounceMs`. Changes arriving while a push runs wait here, so at most
 * one more push follows, covering all of them.
 */
class ChangeQueue {
  private readonly paths = new Set<string>();
  private readonly debounceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private quiet = false;
  private closed = false;
  private waiter: ((paths: string[] | undefined) => void) | undefined;

  constructor(debounceMs: number) {
    this.debounceMs = debounceMs;
  }

  add(path: string): void {
    if (this.closed) return;
    this.paths.add(path);
    this.quiet = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.quiet = true;
      this.flush();
    }, this.debounceMs);
  }

  /** Takes whatever is pending now (a retry covers it anyway). */
  drain(): string[] {
    const paths = [...this.paths];
    this.paths.clear();
    return paths;
  }

  next(): Promise<string[] | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolvePaths) => {
      this.waiter = resolvePaths;
      this.flush();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.waiter?.(undefined);
    this.waiter = undefined;
  }

  private flush(): void {
    if (!this.quiet || !this.waiter || this.paths.size === 0) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    this.quiet = false;
    waiter(this.drain());
  }
}

export async function runWatch(deps: WatchDeps, request: WatchRequest, onEvent: (event: WatchEvent) => void): Promise<void> {
  const { signal } = request;
  if (signal.aborted) return;
  const localDir = resolve(request.localDir);
  const debounceMs = request.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const maxBackoffMs = request.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const matcher = new IgnoreMatcher(localDir, deps.loadFilters(localDir));
  const queue = new ChangeQueue(debounceMs);
  let fatal: Error | undefined;

  const onChange = (filename: string | Buffer | null): void => {
    if (filename === null) {
      queue.add('.'); // the OS did not say which: push anyway
      return;
    }
    const path = filename.toString().split(sep).join('/');
    const name = posix.basename(path);
    if (name === '.gitignore') matcher.forgetRuleFile(posix.dirname(path) === '.' ? '' : posix.dirname(path));
    if (path === '.dockerignore') matcher.setFilters(deps.loadFilters(localDir));
    if (!matcher.ignores(path)) queue.add(path);
  };

  let watcher: FSWatcher;
  try {
    // Node >= 22 watches recursively on Linux too (one inotify watch per folder).
    watcher = watchFiles(localDir, { recursive: true }, (_event, filename) => onChange(filename));
  } catch (error) {
    throw watchError(error, localDir);
  }
  watcher.on('error', (error) => {
    fatal = watchError(error, localDir);
    queue.close();
  });
  const stop = (): void => queue.close();
  signal.addEventListener('abort', stop, { once: true });

  const syncOnce = async (reason: 'initial' | 'change', paths: string[]): Promise<void> => {
    for (let attempt = 1; !signal.aborted; attempt++) {
      onEvent({ type: 'sync-start', reason, paths });
      try {
        const { signal: _ignored, ...pushRequest } = request;
        // A change was seen: checking first whether there is anything to do would only cost time.
        const summary = await deps.push({ ...pushRequest, localDir, signal, ...(reason === 'change' ? { knownChanged: true } : {}) });
        onEvent({ type: 'sync-complete', summary });
        return;
      } catch (error) {
        if (signal.aborted) return;
        const failure = error instanceof Error ? error : new Error(String(error));
        if (!isTransient(error)) {
          // Retrying cannot help (a missing rsync, a full disk): say so, wait for the next change.
          onEvent({ type: 'sync-failed', error: failure, attempt, retryInMs: undefined });
          return;
        }
        const retryInMs = Math.min(maxBackoffMs, FIRST_RETRY_MS * 2 ** (attempt - 1));
        onEvent({ type: 'sync-failed', error: failure, attempt, retryInMs });
        try {
          await sleep(retryInMs, undefined, { signal });
        } catch {
          return; // aborted while waiting
        }
        paths = [...new Set([...paths, ...queue.drain()])];
      }
    }
  };

  try {
    onEvent({ type: 'watching', localDir });
    if (request.initialSync ?? true) await syncOnce('initial', []);
    for (;;) {
      const paths = await queue.next();
      if (paths === undefined || signal.aborted) break;
      await syncOnce('change', paths);
    }
  } finally {
    signal.removeEventListener('abort', stop);
    watcher.close();
    queue.close();
  }
  if (fatal) throw fatal;
  onEvent({ type: 'stopped' });
}

function watchError(error: unknown, localDir: string): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EMFILE') {
    return new UserError('SYNC_WATCH_LIMIT', `cannot watch ${localDir}: the system limit of file watches is reached`, 'raise it: sudo sysctl fs.inotify.max_user_watches=524288 (add it to /etc/sysctl.conf to keep it), or move big folders out of the project', {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
