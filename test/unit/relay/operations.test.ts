import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createToken, openRelayStore } from '../../../src/relay/admin.ts';
import { createOperationSink } from '../../../src/relay/operation-worker.ts';
import { LOST_AFTER_MS, OperationsBoard, type OperationView } from '../../../src/relay/server/operations.ts';
import { startRelayServer } from '../../../src/relay/server/server.ts';
import { relayDockerfile, runtimeClosure } from '../../../src/orchestrators/images/relay-image.ts';

const owner = { name: 'laptop', id: 'tok1' };
const worker = { machine: 'laptop', pid: 42 };

async function board(now: () => number = Date.now) {
  const store = await openRelayStore({ dataDir: mkdtempSync(join(tmpdir(), 'mlt-ops-')) });
  const changes: OperationView[] = [];
  return { store, changes, board: new OperationsBoard(store, (op) => changes.push(op), now) };
}

describe('operations board', () => {
  it('keeps progress and the result; only the registering token may report; finished is final', async () => {
    const { board: ops, changes, store } = await board();
    const op = await ops.create({ kind: 'sync', title: 'mltoolbox sync gpu-box', target: 'gpu-box', worker }, owner);
    assert.match(op.id, /^op-[a-f0-9]{8}$/);
    assert.equal(op.state, 'running');
    assert.equal(await ops.report(op.id, 'someone-else', [{ level: 'info', text: 'x' }]), 'forbidden');
    assert.equal(await ops.report('op-00000000', owner.id, []), 'not-found');
    assert.equal(await ops.report(op.id, owner.id, [{ level: 'task', text: 'Syncing' }, { level: 'progress', text: 'Syncing: 40%', percent: 40 }]), 'ok');
    assert.deepEqual([(await ops.get(op.id))!.progress, (await ops.get(op.id))!.percent], ['Syncing: 40%', 40]);
    assert.equal(await ops.report(op.id, owner.id, [], { ok: true, exitCode: 0, result: { files: 3 } }), 'ok');
    const done = (await ops.get(op.id))!;
    assert.deepEqual([done.state, done.percent, done.result, done.exitCode], ['succeeded', 100, { files: 3 }, 0]);
    assert.equal(await ops.report(op.id, owner.id, [{ level: 'info', text: 'late' }]), 'finished');
    assert.ok(changes.length >= 3, 'each change is published');
    // The result survives a new board on the same store (a relay restart).
    const again = new OperationsBoard(store, () => {});
    assert.deepEqual((await again.get(op.id))!.result, { files: 3 });
    assert.equal((await again.list(10))[0]!.id, op.id);
    await store.close();
  });

  it('long-polls: a watcher waits for the next event and is woken by it', async () => {
    const { board: ops, store } = await board();
    const op = await ops.create({ kind: 'connect', title: 'mltoolbox connect a', target: 'a', worker }, owner);
    const waiting = ops.events(op.id, 0, 5000);
    setTimeout(() => void ops.report(op.id, owner.id, [{ level: 'info', text: 'hello' }]), 20);
    const started = Date.now();
    const got = await waiting;
    assert.ok(Date.now() - started < 4000, 'woken, not timed out');
    assert.deepEqual(got!.events.map((e) => [e.seq, e.text]), [[1, 'hello']]);
    assert.deepEqual((await ops.events(op.id, 1, 10))!.events, [], 'nothing new: an empty answer after the wait');
    await store.close();
  });

  it('a worker silent for too long shows as lost, and back when it reports', async () => {
    let now = Date.parse('2026-12-07T10:00:00Z');
    const { board: ops, store } = await board(() => now);
    const op = await ops.create({ kind: 'sync', title: 't', target: null, worker }, owner);
    now += LOST_AFTER_MS + 1000;
    assert.equal((await ops.get(op.id))!.state, 'lost');
    await ops.report(op.id, owner.id, []);
    assert.equal((await ops.get(op.id))!.state, 'running');
    await store.close();
  });

  it('cancel: cancelling at once (the worker\'s long poll wakes), cancelled when the worker reports how it stopped; a finished one is refused', async () => {
    const { board: ops, store } = await board();
    const op = await ops.create({ kind: 'provision', title: 'mltoolbox provision', target: null, worker }, owner);
    assert.deepEqual(await ops.cancelRequested(op.id, 0), { requested: false, by: null });
    const polling = ops.cancelRequested(op.id, 5000);
    const started = Date.now();
    setTimeout(() => void ops.cancel(op.id, 'alice'), 20);
    assert.deepEqual(await polling, { requested: true, by: 'alice' });
    assert.ok(Date.now() - started < 4000, 'woken by the cancel, not timed out');
    const cancelling = (await ops.get(op.id))!;
    assert.deepEqual([cancelling.state, cancelling.cancelledBy], ['cancelling', 'alice']);
    assert.ok(cancelling.cancelRequestedAt);
    assert.equal((await ops.cancel(op.id, 'bob')).operation!.cancelledBy, 'alice', 'asking twice keeps the first request');
    await ops.report(op.id, owner.id, [], { ok: false, exitCode: 130, error: { code: 'INTERRUPTED', message: 'provision interrupted (SIGINT)' } });
    const done = (await ops.get(op.id))!;
    assert.equal(done.state, 'cancelled');
    assert.match((await ops.events(op.id, 0, 0))!.events.at(-1)!.text, /^cancelled \(INTERRUPTED: provision interrupted/);
    assert.equal((await ops.cancel(op.id, 'alice')).outcome, 'finished');
    assert.equal((await ops.cancel('op-00000000', 'alice')).outcome, 'not-found');
    // Work that finished before it could stop stays what it was.
    const quick = await ops.create({ kind: 'sync', title: 't', target: null, worker }, owner);
    await ops.cancel(quick.id, 'alice');
    await ops.report(quick.id, owner.id, [], { ok: true, exitCode: 0 });
    assert.equal((await ops.get(quick.id))!.state, 'succeeded');
    // A record saved before cancel existed reads with the new fields empty.
    const old = await ops.create({ kind: 'sync', title: 'old', target: null, worker }, owner);
    const { cancelRequestedAt: _a, cancelledBy: _b, events: _e, ...record } = (await ops.get(old.id))!;
    await store.saveOperation(record);
    const reread = (await new OperationsBoard(store, () => {}).get(old.id))!;
    assert.deepEqual([reread.cancelRequestedAt, reread.cancelledBy], [null, null]);
    await store.close();
  });
});

describe('operation sink (the worker side)', () => {
  it('batches and coalesces progress, then posts the result to a live relay', async () => {
    const store = await openRelayStore({ dataDir: mkdtempSync(join(tmpdir(), 'mlt-ops-sink-')) });
    const relay = await startRelayServer({ store, host: '127.0.0.1', port: 0, log: () => {}, version: 'test' });
    try {
      const { token } = await createToken(store, { name: 'laptop', scope: 'user' }, new Date());
      const endpoint = { url: relay.url, token, timeoutMs: 2000 };
      const created = await fetch(`${relay.url}/api/v1/operations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'sync', title: 'mltoolbox sync x', target: 'x', worker }) });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: string };
      const sink = createOperationSink(endpoint, id, { flushMs: 20 });
      sink.push({ level: 'task', text: 'Syncing' });
      for (let p = 0; p <= 100; p += 10) sink.push({ level: 'progress', text: `Syncing: ${p}%`, percent: p });
      assert.equal(await sink.finish({ ok: true, exitCode: 0, result: { ok: 1 } }), true);
      const events = (await (await fetch(`${relay.url}/api/v1/operations/${id}/events?after=0`, { headers: { authorization: `Bearer ${token}` } })).json()) as { operation: { state: string }; events: { level: string; text: string }[] };
      assert.equal(events.operation.state, 'succeeded');
      assert.deepEqual(events.events.map((e) => e.text), ['Syncing', 'Syncing: 100%', 'done'], 'progress lines coalesced to the newest');
      // Another user token may watch but not report.
      const other = await createToken(store, { name: 'other', scope: 'user' }, new Date());
      const forbidden = await fetch(`${relay.url}/api/v1/operations/${id}/events`, { method: 'POST', headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events: [] }) });
      assert.equal(forbidden.status, 403);
    } finally {
      await relay.close();
    }
  });

  it('hears a cancel through the relay at once; cancelling a finished operation answers 409', async () => {
    const store = await openRelayStore({ dataDir: mkdtempSync(join(tmpdir(), 'mlt-ops-cancel-')) });
    const relay = await startRelayServer({ store, host: '127.0.0.1', port: 0, log: () => {}, version: 'test' });
    try {
      const { token } = await createToken(store, { name: 'laptop', scope: 'user' }, new Date());
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const created = await fetch(`${relay.url}/api/v1/operations`, { method: 'POST', headers, body: JSON.stringify({ kind: 'sync', title: 'mltoolbox sync x', target: 'x', worker }) });
      const { id } = (await created.json()) as { id: string };
      const sink = createOperationSink({ url: relay.url, token, timeoutMs: 2000 }, id, { flushMs: 20 });
      const heard = new Promise<string | null>((resolve) => sink.watchCancel(resolve));
      await new Promise((r) => setTimeout(r, 100));
      const cancel = await fetch(`${relay.url}/api/v1/operations/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(cancel.status, 202);
      assert.equal(((await cancel.json()) as { state: string }).state, 'cancelling');
      assert.equal(await heard, 'laptop');
      assert.equal(await sink.finish({ ok: false, exitCode: 130, error: { code: 'OPERATION_CANCELLED', message: 'stopped at the request of laptop' } }), true);
      const view = (await (await fetch(`${relay.url}/api/v1/operations/${id}`, { headers })).json()) as { state: string };
      assert.equal(view.state, 'cancelled');
      const again = await fetch(`${relay.url}/api/v1/operations/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'OPERATION_FINISHED');
    } finally {
      await relay.close();
    }
  });
});

describe('relay image', () => {
  it('ships only the packages the relay loads, with their dependencies', () => {
    const modules = mkdtempSync(join(tmpdir(), 'mlt-closure-'));
    const pkg = (name: string, deps: Record<string, string> = {}) => {
      mkdirSync(join(modules, name), { recursive: true });
      writeFileSync(join(modules, name, 'package.json'), JSON.stringify({ name, dependencies: deps }));
    };
    pkg('fastify', { avvio: '1', pino: '1' });
    pkg('avvio', { fastq: '1' });
    pkg('fastq');
    pkg('pino', { fastify: '1' });
    pkg('ssh2');
    assert.deepEqual(runtimeClosure(modules, ['fastify', 'missing']), ['avvio', 'fastify', 'fastq', 'pino']);
  });

  it('runs unprivileged with the memory flags, state in /data', () => {
    const text = relayDockerfile('mltoolbox/bootstrap:bookworm-abc');
    assert.match(text, /^FROM mltoolbox\/bootstrap:bookworm-abc$/m);
    assert.match(text, /^USER 10001:10001$/m);
    assert.match(text, /^VOLUME \/data$/m);
    assert.match(text, /"--max-semi-space-size=1","--jitless"/);
    assert.match(text, /"--host","0.0.0.0","--port","7878"/);
  });
});

describe('metrics history (the charts)', () => {
  it('gives back what it was given, oldest first, the newest N only; nulls stay null', async () => {
    const { MetricsHistory } = await import('../../../src/relay/server/metrics-history.ts');
    const gpu = (index: number, util: number | null) => ({ index, uuid: `GPU-${index}`, name: 'NVIDIA H100', utilizationPercent: util, memoryUsedMiB: 100 * index, memoryTotalMiB: 81559, temperatureC: null, powerDrawW: 300.5, powerLimitW: 700 });
    const sample = (at: number, gpus: number) => ({ at, cpuPercent: at % 100, memoryUsedBytes: 1e9, memoryTotalBytes: null, gpus: Array.from({ length: gpus }, (_, i) => gpu(i, i === 1 ? null : at % 100)) });
    const history = new MetricsHistory(3);
    assert.deepEqual(history.samples(), []);
    assert.equal(history.latest(), null);
    history.push(sample(1, 2));
    history.push(sample(2, 2));
    // More GPUs than before: the rows widen, nothing is lost.
    history.push(sample(3, 4));
    history.push({ ...sample(4, 4), gpuNote: 'n' });
    const got = history.samples();
    assert.deepEqual(got.map((s) => s.at), [2, 3, 4]);
    assert.deepEqual(got[0], sample(2, 2));
    assert.deepEqual(got[2], { ...sample(4, 4), gpuNote: 'n' });
    assert.deepEqual(history.latest(), { ...sample(4, 4), gpuNote: 'n' });
  });
});

describe('metrics history growth', () => {
  it('gives GPU figures back as nvidia-smi printed them (float32 storage, two decimals), the head at full precision', async () => {
    const { MetricsHistory } = await import('../../../src/relay/server/metrics-history.ts');
    const history = new MetricsHistory(10);
    const gpus = [
      { index: 0, uuid: 'GPU-a', name: 'NVIDIA H100 80GB HBM3', utilizationPercent: 99, memoryUsedMiB: 81_559, memoryTotalMiB: 81_559, temperatureC: 61, powerDrawW: 312.45, powerLimitW: 700 },
      { index: 1, uuid: 'GPU-b', name: 'NVIDIA H100 80GB HBM3', utilizationPercent: 37.5, memoryUsedMiB: 0, memoryTotalMiB: 81_559, temperatureC: null, powerDrawW: 69.17, powerLimitW: 699.99 },
    ];
    const sample = { at: 1_765_100_000_123, cpuPercent: 12.345678, memoryUsedBytes: 123_456_789_012, memoryTotalBytes: 2_199_023_255_552, gpus };
    history.push(sample);
    assert.deepEqual(history.samples(), [sample]);
  });

  it('grows as samples come and wraps at its capacity', async () => {
    const { MetricsHistory } = await import('../../../src/relay/server/metrics-history.ts');
    const history = new MetricsHistory(20);
    const sample = (at: number) => ({ at, cpuPercent: 1, memoryUsedBytes: 2, memoryTotalBytes: 3, gpus: [{ index: 0, uuid: 'u', name: 'n', utilizationPercent: at, memoryUsedMiB: 1, memoryTotalMiB: 2, temperatureC: 3, powerDrawW: 4, powerLimitW: 5 }] });
    for (let at = 1; at <= 45; at++) history.push(sample(at));
    assert.deepEqual(history.samples().map((s) => s.gpus[0]!.utilizationPercent), Array.from({ length: 20 }, (_, i) => 26 + i));
  });
});
