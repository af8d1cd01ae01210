import { randomUUID } from 'node:crypto';
import type { OperationRecord, RelayStore } from './store.ts';

/**
 * Operations: long CLI work (`connect`, `sync`, `provision`) that a detached
 * local worker process runs and reports here. The relay never runs the work:
 * it keeps the record (in its database, so the result stays queryable), a
 * bounded tail of progress events in memory (for `ops watch` and the
 * dashboard), and wakes the watchers when something arrives.
 *
 * A worker reports at least every HEARTBEAT_MS; a running operation silent
 * for LOST_AFTER_MS is shown `lost` (the worker died or its machine slept).
 */
export interface OperationEvent {
  seq: number;
  /** Epoch milliseconds, on the relay. */
  at: number;
  level: 'info' | 'warn' | 'success' | 'task' | 'progress' | 'done' | 'failed';
  text: string;
}

export type OperationView = OperationRecord & { events: number };

export interface OperationDone {
  ok: boolean;
  exitCode: number;
  result?: unknown;
  error?: { code: string; message: string; hint?: string };
}

/** How many events an operation keeps in memory (older ones are dropped; the log file on the worker's machine has them all). */
const EVENTS_KEPT = 1000;
export const LOST_AFTER_MS = 45_000;
/** Operations kept in memory with their events. */
const LIVE_KEPT = 200;

interface Live {
  record: OperationRecord;
  events: OperationEvent[];
  seq: number;
  waiters: Set<() => void>;
}

export class OperationsBoard {
  private readonly live = new Map<string, Live>();
  private readonly store: RelayStore;
  private readonly changed: (operation: OperationView) => void;
  private readonly now: () => number;

  constructor(store: RelayStore, changed: (operation: OperationView) => void, now: () => number = Date.now) {
    this.store = store;
    this.changed = changed;
    this.now = now;
  }

  async create(request: { kind: string; title: string; target: string | null; worker: OperationRecord['worker'] }, owner: { name: string; id: string }): Promise<OperationView> {
    const at = new Date(this.now()).toISOString();
    const record: OperationRecord = {
      id: `op-${randomUUID().slice(0, 8)}`,
      kind: request.kind, title: request.title, target: request.target, owner: owner.name, ownerTokenId: owner.id,
      state: 'running', createdAt: at, updatedAt: at, finishedAt: null, progress: null, percent: null, exitCode: null, result: null, error: null,
      worker: request.worker,
    };
    await this.store.saveOperation(record);
    this.remember({ record, events: [], seq: 0, waiters: new Set() });
    const view = this.view(record);
    this.changed(view);
    return view;
  }

  /** A worker's report: events, and at the end its result. Only the token that created the operation may report. */
  async report(id: string, ownerTokenId: string, events: readonly { level: OperationEvent['level']; text: string; percent?: number }[], done?: OperationDone): Promise<'ok' | 'not-found' | 'forbidden' | 'finished'> {
    const live = await this.load(id);
    if (!live) return 'not-found';
    if (live.record.ownerTokenId !== ownerTokenId) return 'forbidden';
    if (live.record.finishedAt !== null) return 'finished';
    const now = this.now();
    for (const event of events) {
      live.seq += 1;
      live.events.push({ seq: live.seq, at: now, level: event.level, text: event.text });
      if (event.level === 'progress' || event.level === 'task') live.record.progress = event.text;
      if (event.percent !== undefined) live.record.percent = event.percent;
    }
    if (live.events.length > EVENTS_KEPT) live.events.splice(0, live.events.length - EVENTS_KEPT);
    live.record.updatedAt = new Date(now).toISOString();
    if (live.record.state === 'lost') live.record.state = 'running';
    if (done) {
      live.record.state = done.ok ? 'succeeded' : 'failed';
      live.record.finishedAt = live.record.updatedAt;
      live.record.exitCode = done.exitCode;
      live.record.result = done.result ?? null;
      live.record.error = done.error ?? null;
      if (done.ok) {
        live.record.percent = 100;
        live.record.progress = 'done';
      }
      live.seq += 1;
      live.events.push({ seq: live.seq, at: now, level: done.ok ? 'done' : 'failed', text: done.ok ? 'done' : `${done.error?.code ?? 'FAILED'}: ${done.error?.message ?? `exit ${done.exitCode}`}` });
    }
    // Heartbeats (no events) touch memory only; anything else is saved.
    if (events.length > 0 || done) await this.store.saveOperation(live.record);
    const view = this.view(live.record);
    if (events.length > 0 || done) this.changed(view);
    for (const wake of live.waiters) wake();
    live.waiters.clear();
    return 'ok';
  }

  async list(limit: number): Promise<OperationView[]> {
    const stored = await this.store.listOperations(limit);
    return stored.map((record) => this.view(this.live.get(record.id)?.record ?? record));
  }

  async get(id: string): Promise<OperationView | undefined> {
    const live = await this.load(id);
    return live ? this.view(live.record) : undefined;
  }

  /**
   * Events after `after`, waiting up to `waitMs` for one when there are none
   * (a long poll: `ops watch` follows with one request at a time).
   */
  async events(id: string, after: number, waitMs: number): Promise<{ operation: OperationView; events: OperationEvent[] } | undefined> {
    const live = await this.load(id);
    if (!live) return undefined;
    const pending = () => live.events.filter((e) => e.seq > after);
    if (pending().length === 0 && live.record.finishedAt === null && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done() {
          clearTimeout(timer);
          live!.waiters.delete(done);
          resolve();
        }
        live.waiters.add(done);
      });
    }
    return { operation: this.view(live.record), events: pending() };
  }

  /** Recent operations for a dashboard's first paint. */
  recent(): OperationView[] {
    return [...this.live.values()].map((l) => this.view(l.record)).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 50);
  }

  /** Wakes every watcher (shutdown). */
  closeAll(): void {
    for (const live of this.live.values()) {
      for (const wake of live.waiters) wake();
    }
  }

  private async load(id: string): Promise<Live | undefined> {
    const known = this.live.get(id);
    if (known) return known;
    const record = await this.store.findOperation(id);
    if (!record) return undefined;
    // Known from the database only (the relay restarted): its earlier events are gone; its state and result are not.
    const live: Live = { record, events: [], seq: 0, waiters: new Set() };
    this.remember(live);
    return live;
  }

  /** Memory stays bounded: past LIVE_KEPT, the oldest finished operations leave memory (the database keeps them). */
  private remember(live: Live): void {
    this.live.set(live.record.id, live);
    if (this.live.size <= LIVE_KEPT) return;
    for (const [id, old] of this.live) {
      if (this.live.size <= LIVE_KEPT) break;
      if (old.record.finishedAt !== null && old.waiters.size === 0) this.live.delete(id);
    }
  }

  private view(record: OperationRecord): OperationView {
    const silent = record.state === 'running' && this.now() - Date.parse(record.updatedAt) > LOST_AFTER_MS;
    return { ...record, ...(silent ? { state: 'lost' as const } : {}), events: this.live.get(record.id)?.seq ?? 0 };
  }
}
