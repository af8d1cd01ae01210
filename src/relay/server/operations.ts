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
 *
 * Cancelling: `ops cancel` marks the operation `cancelling` and wakes the
 * worker's long poll (GET …/cancel); the worker stops the work as Ctrl-C
 * would and reports how it ended, which makes it `cancelled` (or
 * `succeeded`, when the work finished before it could stop).
 */
export interface OperationEvent {
  seq: number;
  /** Epoch milliseconds, on the relay. */
  at: number;
  level: 'info' | 'warn' | 'success' | 'task' | 'progress' | 'done' | 'failed';
  text: string;
}

export type OperationView = OperationRecord & { events: number; cancelRequestedAt: string | null; cancelledBy: string | null };

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
  private closed = false;

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
      worker: request.worker, cancelRequestedAt: null, cancelledBy: null,
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
    const cancelled = Boolean(live.record.cancelRequestedAt);
    if (live.record.state === 'lost') live.record.state = cancelled ? 'cancelling' : 'running';
    if (done) {
      live.record.state = done.ok ? 'succeeded' : cancelled ? 'cancelled' : 'failed';
      live.record.finishedAt = live.record.updatedAt;
      live.record.exitCode = done.exitCode;
      live.record.result = done.result ?? null;
      live.record.error = done.error ?? null;
      if (done.ok) {
        live.record.percent = 100;
        live.record.progress = 'done';
      }
      live.seq += 1;
      const how = `${done.error?.code ?? 'FAILED'}: ${done.error?.message ?? `exit ${done.exitCode}`}`;
      live.events.push({ seq: live.seq, at: now, level: done.ok ? 'done' : 'failed', text: done.ok ? 'done' : cancelled ? `cancelled (${how})` : how });
    }
    // Heartbeats (no events) touch memory only; anything else is saved.
    if (events.length > 0 || done) await this.store.saveOperation(live.record);
    const view = this.view(live.record);
    if (events.length > 0 || done) this.changed(view);
    this.wake(live);
    return 'ok';
  }

  /** `ops cancel`: marks the operation `cancelling` and wakes its worker's long poll. A finished one is refused. */
  async cancel(id: string, by: string): Promise<{ outcome: 'ok' | 'not-found' | 'finished'; operation?: OperationView }> {
    const live = await this.load(id);
    if (!live) return { outcome: 'not-found' };
    if (live.record.finishedAt !== null) return { outcome: 'finished', operation: this.view(live.record) };
    if (!live.record.cancelRequestedAt) {
      const now = this.now();
      live.record.cancelRequestedAt = new Date(now).toISOString();
      live.record.cancelledBy = by;
      live.record.state = 'cancelling';
      live.seq += 1;
      live.events.push({ seq: live.seq, at: now, level: 'warn', text: `cancel requested by ${by}: stopping` });
      await this.store.saveOperation(live.record);
      this.changed(this.view(live.record));
      this.wake(live);
    }
    return { outcome: 'ok', operation: this.view(live.record) };
  }

  /** The worker's long poll: whether it was asked to stop, waiting up to `waitMs` for it. */
  async cancelRequested(id: string, waitMs: number): Promise<{ requested: boolean; by: string | null } | undefined> {
    const live = await this.load(id);
    if (!live) return undefined;
    const deadline = this.now() + waitMs;
    while (!this.closed && !live.record.cancelRequestedAt && live.record.finishedAt === null && this.now() < deadline) {
      await this.waitForChange(live, deadline - this.now());
    }
    return { requested: Boolean(live.record.cancelRequestedAt), by: live.record.cancelledBy ?? null };
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
    if (pending().length === 0 && live.record.finishedAt === null && waitMs > 0) await this.waitForChange(live, waitMs);
    return { operation: this.view(live.record), events: pending() };
  }

  /** Recent operations for a dashboard's first paint. */
  recent(): OperationView[] {
    return [...this.live.values()].map((l) => this.view(l.record)).sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 50);
  }

  /** Wakes every watcher (shutdown). */
  closeAll(): void {
    this.closed = true;
    for (const live of this.live.values()) this.wake(live);
  }

  /** Until the operation changes (a report, a cancel) or `waitMs` passes. */
  private waitForChange(live: Live, waitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        live.waiters.delete(done);
        resolve();
      }
      live.waiters.add(done);
    });
  }

  private wake(live: Live): void {
    const waiters = [...live.waiters];
    live.waiters.clear();
    for (const wake of waiters) wake();
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
    const silent = (record.state === 'running' || record.state === 'cancelling') && this.now() - Date.parse(record.updatedAt) > LOST_AFTER_MS;
    return {
      ...record, ...(silent ? { state: 'lost' as const } : {}), events: this.live.get(record.id)?.seq ?? 0,
      cancelRequestedAt: record.cancelRequestedAt ?? null, cancelledBy: record.cancelledBy ?? null,
    };
  }
}
