import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../../../src/core/errors.ts';
import { buildFilterRules, resolveRules } from '../../../../src/services/sync/filters.ts';
import type { PushRequest, SyncSummary, WatchEvent } from '../../../../src/services/sync/types.ts';
import { runWatch } from '../../../../src/services/sync/watch.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SUMMARY: SyncSummary = { dryRun: false, filesTransferred: 0, bytes: 0, bytesSent: 0, bytesReceived: 0, deleted: 0, durationMs: 1, changes: { added: [], changed: [], deleted: [] }, warnings: [] };

// Generous: the full suite runs Docker builds beside these tests on 2 cores.
async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function project(): string {
  const dir = mkdtempSync(join(root, 'p-'));
  writeFileSync(join(dir, '.gitignore'), 'logs/\n');
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'src'));
  return dir;
}

/** Starts a watch whose pushes are recorded (and can be made slow or failing). */
// A failed assertion must not leave a watcher running (it would hold the process until the test timeout).
const live: AbortController[] = [];
afterEach(() => {
  for (const controller of live.splice(0)) controller.abort();
});

function start(localDir: string, push: (request: PushRequest) => Promise<SyncSummary>, options: { debounceMs?: number; maxBackoffMs?: number } = {}) {
  const controller = new AbortController();
  live.push(controller);
  const events: WatchEvent[] = [];
  const pushes: PushRequest[] = [];
  const done = runWatch(
    {
      push: (request) => {
        pushes.push(request);
        return push(request);
      },
      loadFilters: () => buildFilterRules(resolveRules(), undefined),
    },
    { remote: { rsh: 'ssh', destination: 'h' }, localDir, remoteDir: 'p', signal: controller.signal, debounceMs: options.debounceMs ?? 50, maxBackoffMs: options.maxBackoffMs ?? 20 },
    (event) => events.push(event),
  );
  return { controller, events, pushes, done, starts: () => events.filter((e) => e.type === 'sync-start') };
}

describe('watch', () => {
  it('pushes once at start, then once per burst of changes (coalesced), and stops on abort', async () => {
    const dir = project();
    const w = start(dir, async () => SUMMARY);
    await until('initial push', () => w.events.some((e) => e.type === 'sync-complete'));
    writeFileSync(join(dir, 'a.py'), '1');
    writeFileSync(join(dir, 'src', 'b.py'), '2');
    writeFileSync(join(dir, 'a.py'), '3');
    await until('change push', () => w.starts().length === 2);
    const change = w.starts()[1] as Extract<WatchEvent, { type: 'sync-start' }>;
    assert.equal(change.reason, 'change');
    assert.ok(change.paths.includes('a.py') && change.paths.includes('src/b.py'), change.paths.join(','));
    // Only a push for a seen change skips asking the host whether there is anything to do.
    assert.deepEqual(w.pushes.map((p) => p.knownChanged), [undefined, true]);
    await sleep(200);
    assert.equal(w.starts().length, 2, 'one push for the whole burst');
    w.controller.abort();
    await w.done;
    assert.equal(w.events.at(-1)?.type, 'stopped');
  });

  it('sees files in folders created after the watch started', async () => {
    const dir = project();
    const w = start(dir, async () => SUMMARY);
    await until('initial push', () => w.events.some((e) => e.type === 'sync-complete'));
    mkdirSync(join(dir, 'new', 'deeper'), { recursive: true });
    await sleep(100);
    writeFileSync(join(dir, 'new', 'deeper', 'x.py'), 'x');
    await until('push for the new file', () => w.starts().some((e) => e.type === 'sync-start' && e.paths.includes('new/deeper/x.py')));
    w.controller.abort();
    await w.done;
  });

  it('ignores changes rsync would not copy (gitignored, .git)', async () => {
    const dir = project();
    const w = start(dir, async () => SUMMARY);
    await until('initial push', () => w.events.some((e) => e.type === 'sync-complete'));
    writeFileSync(join(dir, 'logs', 'train.log'), 'x');
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'index'), 'x');
    await sleep(300);
    assert.equal(w.starts().length, 1);
    w.controller.abort();
    await w.done;
  });

  it('runs one push at a time and queues exactly one more for changes during it', async () => {
    const dir = project();
    let release: () => void = () => {};
    let running = 0;
    let maxRunning = 0;
    const w = start(dir, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => (release = r));
      running--;
      return SUMMARY;
    }, { debounceMs: 20 });
    await until('initial push running', () => w.pushes.length === 1);
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(dir, `f${i}.py`), String(i));
      await sleep(30);
    }
    release();
    await until('second push', () => w.pushes.length === 2);
    release();
    await sleep(200);
    assert.equal(w.pushes.length, 2);
    assert.equal(maxRunning, 1);
    const second = w.starts()[1] as Extract<WatchEvent, { type: 'sync-start' }>;
    assert.equal(second.paths.length, 5);
    w.controller.abort();
    await w.done;
  });

  it('retries a dropped connection with growing, bounded waits; other failures wait for the next change', async () => {
    const dir = project();
    let failures = 2;
    const w = start(dir, async () => {
      if (failures-- > 0) throw new UserError('SYNC_CONNECTION_FAILED', 'gone', 'reconnect');
      return SUMMARY;
    }, { maxBackoffMs: 30 });
    await until('recovered', () => w.events.some((e) => e.type === 'sync-complete'));
    const failed = w.events.filter((e) => e.type === 'sync-failed') as Array<Extract<WatchEvent, { type: 'sync-failed' }>>;
    assert.deepEqual(failed.map((e) => [e.attempt, e.retryInMs]), [[1, 30], [2, 30]]);
    w.controller.abort();
    await w.done;

    const w2 = start(project(), async () => {
      throw new UserError('SYNC_RSYNC_MISSING_ON_HOST', 'no rsync', 'install it');
    });
    await until('reported', () => w2.events.some((e) => e.type === 'sync-failed'));
    await sleep(100);
    assert.equal(w2.pushes.length, 1, 'no retry loop for a setup problem');
    assert.equal((w2.events.find((e) => e.type === 'sync-failed') as Extract<WatchEvent, { type: 'sync-failed' }>).retryInMs, undefined);
    w2.controller.abort();
    await w2.done;
  });

  it('abort cancels a running push', async () => {
    const dir = project();
    const w = start(dir, (request) => new Promise((_resolve, reject) => request.signal!.addEventListener('abort', () => reject(request.signal!.reason))));
    await until('push running', () => w.pushes.length === 1);
    w.controller.abort();
    await w.done;
    assert.ok(!w.events.some((e) => e.type === 'sync-failed'));
  });
});
