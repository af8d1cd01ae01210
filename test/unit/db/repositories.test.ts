import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { UserError } from '../../../src/core/errors.ts';
import { openStateStore, type StateStore } from '../../../src/db/index.ts';
import { fakeClock, tempDbFile } from './helpers.ts';

let store: StateStore;
let clock: ReturnType<typeof fakeClock>;

beforeEach(async () => {
  clock = fakeClock();
  store = await openStateStore({ file: tempDbFile(), now: clock.now });
  return () => store.close();
});

describe('remotes', () => {
  it('upsertRemote adds, then updates in place keeping created/last-used times', () => {
    const added = store.upsertRemote({ alias: 'gpu', host: 'gpu-box', user: 'alice', port: 2222, identityFile: '/k' });
    assert.equal(added.created, true);
    assert.deepEqual(added.remote, {
      alias: 'gpu', host: 'gpu-box', user: 'alice', port: 2222, identityFile: '/k', createdAt: '2025-03-01T12:00:00.000Z', lastUsedAt: null,
    });
    clock.advance(60_000);
    store.touchRemote('gpu');
    clock.advance(60_000);
    const updated = store.upsertRemote({ alias: 'gpu', host: 'gpu-box-2' });
    assert.equal(updated.created, false);
    assert.deepEqual(updated.remote, {
      alias: 'gpu', host: 'gpu-box-2', user: null, port: null, identityFile: null, createdAt: '2025-03-01T12:00:00.000Z', lastUsedAt: '2025-03-01T12:01:00.000Z',
    });
  });

  it('getRemote / listRemotes (by alias) / removeRemote', () => {
    store.upsertRemote({ alias: 'zeta', host: 'z' });
    store.upsertRemote({ alias: 'alpha', host: 'a' });
    assert.equal(store.getRemote('alpha')?.host, 'a');
    assert.equal(store.getRemote('nope'), undefined);
    assert.deepEqual(store.listRemotes().map((r) => r.alias), ['alpha', 'zeta']);
    assert.equal(store.removeRemote('zeta')?.host, 'z');
    assert.equal(store.removeRemote('zeta'), undefined);
    assert.deepEqual(store.listRemotes().map((r) => r.alias), ['alpha']);
  });

  it('touchRemote records the time of use, false for an unknown alias', () => {
    store.upsertRemote({ alias: 'gpu', host: 'g' });
    clock.advance(5000);
    assert.equal(store.touchRemote('gpu'), true);
    assert.equal(store.getRemote('gpu')?.lastUsedAt, '2025-03-01T12:00:05.000Z');
    assert.equal(store.touchRemote('nope'), false);
  });

  it('the schema refuses an impossible port (a bug upstream, not a user error)', () => {
    assert.throws(() => store.upsertRemote({ alias: 'x', host: 'h', port: 70000 }), (e: unknown) => !(e instanceof UserError));
  });
});

describe('projects', () => {
  it('upsertProject registers by path and renames in place; getProjectByPath / getProject', () => {
    const project = store.upsertProject({ localPath: '/src/demo', name: 'demo' });
    assert.deepEqual(project, { id: project.id, localPath: '/src/demo', name: 'demo', createdAt: '2025-03-01T12:00:00.000Z', lastRemote: null });
    clock.advance(1000);
    const renamed = store.upsertProject({ localPath: '/src/demo', name: 'demo2' });
    assert.equal(renamed.id, project.id);
    assert.equal(renamed.createdAt, project.createdAt);
    assert.equal(store.getProjectByPath('/src/demo')?.name, 'demo2');
    assert.equal(store.getProject(project.id)?.localPath, '/src/demo');
    assert.equal(store.getProjectByPath('/elsewhere'), undefined);
    assert.notEqual(store.upsertProject({ localPath: '/src/other', name: 'other' }).id, project.id);
  });

  it('setLastRemote sets and clears', () => {
    const { id } = store.upsertProject({ localPath: '/p', name: 'p' });
    store.setLastRemote(id, 'gpu');
    assert.equal(store.getProject(id)?.lastRemote, 'gpu');
    store.setLastRemote(id, null);
    assert.equal(store.getProject(id)?.lastRemote, null);
  });

  it('recordSync keeps one row per project and remote, with the summary as JSON', () => {
    const { id } = store.upsertProject({ localPath: '/p', name: 'p' });
    const first = store.recordSync({ projectId: id, remote: 'gpu', remoteDir: '~/mltoolbox/p', summary: { files: 3, bytes: 1024, dryRun: false } });
    assert.deepEqual(first, { projectId: id, remote: 'gpu', remoteDir: '~/mltoolbox/p', lastSyncAt: '2025-03-01T12:00:00.000Z', lastSyncSummary: { files: 3, bytes: 1024, dryRun: false } });
    clock.advance(1000);
    store.recordSync({ projectId: id, remote: 'gpu', remoteDir: '/data/p', summary: { files: 1 } });
    store.recordSync({ projectId: id, remote: 'a100', remoteDir: '/data/p', summary: null });
    assert.deepEqual(store.getProjectRemote(id, 'gpu'), { projectId: id, remote: 'gpu', remoteDir: '/data/p', lastSyncAt: '2025-03-01T12:00:01.000Z', lastSyncSummary: { files: 1 } });
    assert.deepEqual(store.listProjectRemotes(id).map((r) => [r.remote, r.lastSyncSummary]), [['a100', null], ['gpu', { files: 1 }]]);
    assert.equal(store.getProjectRemote(id, 'nope'), undefined);
  });

  it('a sync for an unknown project id is refused by the foreign key', () => {
    assert.throws(() => store.recordSync({ projectId: 999, remote: 'gpu', remoteDir: '/x', summary: {} }));
  });
});

describe('containers', () => {
  it('upsertContainer / getContainer / listContainers / removeContainer', () => {
    const { id } = store.upsertProject({ localPath: '/p', name: 'p' });
    const base = { projectId: id, remote: 'gpu', containerId: 'abc', name: 'mlt-p', image: 'img:1', configHash: 'h1', status: 'running' };
    assert.deepEqual(store.upsertContainer(base), { ...base, createdAt: '2025-03-01T12:00:00.000Z' });
    clock.advance(1000);
    assert.equal(store.upsertContainer({ ...base, status: 'exited' }).createdAt, '2025-03-01T12:00:00.000Z', 'same container keeps its creation time');
    clock.advance(1000);
    const rebuilt = store.upsertContainer({ ...base, containerId: 'def', configHash: 'h2' });
    assert.deepEqual(rebuilt, { ...base, containerId: 'def', configHash: 'h2', createdAt: '2025-03-01T12:00:02.000Z' });
    store.upsertContainer({ ...base, remote: 'a100', containerId: 'x' });
    assert.equal(store.getContainer(id, 'gpu')?.containerId, 'def');
    assert.deepEqual(store.listContainers(id).map((c) => c.remote), ['a100', 'gpu']);
    assert.equal(store.removeContainer(id, 'gpu'), true);
    assert.equal(store.removeContainer(id, 'gpu'), false);
    assert.equal(store.getContainer(id, 'gpu'), undefined);
  });
});

describe('port forwards', () => {
  it('addForward / listForwards with filters / removeForward', () => {
    const p1 = store.upsertProject({ localPath: '/p1', name: 'p1' }).id;
    const p2 = store.upsertProject({ localPath: '/p2', name: 'p2' }).id;
    const jupyter = store.addForward({ projectId: p1, remote: 'gpu', localPort: 8888, remotePort: 8888, pid: 4242 });
    assert.deepEqual(jupyter, { id: jupyter.id, projectId: p1, remote: 'gpu', localPort: 8888, remotePort: 8888, pid: 4242, controlPath: null, createdAt: '2025-03-01T12:00:00.000Z' });
    store.addForward({ projectId: p1, remote: 'a100', localPort: 6006, remotePort: 6006, controlPath: '/tmp/cm' });
    store.addForward({ projectId: p2, remote: 'gpu', localPort: 7000, remotePort: 80 });
    assert.deepEqual(store.listForwards().map((f) => f.localPort), [6006, 7000, 8888]);
    assert.deepEqual(store.listForwards({ projectId: p1 }).map((f) => f.localPort), [6006, 8888]);
    assert.deepEqual(store.listForwards({ remote: 'gpu' }).map((f) => f.localPort), [7000, 8888]);
    assert.deepEqual(store.listForwards({ projectId: p1, remote: 'gpu' }).map((f) => f.localPort), [8888]);
    assert.equal(store.removeForward(jupyter.id), true);
    assert.equal(store.removeForward(jupyter.id), false);
    assert.deepEqual(store.listForwards({ projectId: p1 }).map((f) => f.localPort), [6006]);
  });
});

describe('transaction', () => {
  it('is all or nothing, and nests', () => {
    assert.throws(() => store.transaction(() => {
      store.upsertRemote({ alias: 'a', host: 'h' }); // itself a (nested) transaction
      throw new Error('stop');
    }), /stop/);
    assert.equal(store.getRemote('a'), undefined);
    const result = store.transaction(() => {
      store.upsertRemote({ alias: 'a', host: 'h' });
      store.upsertRemote({ alias: 'b', host: 'h' });
      return 2;
    });
    assert.equal(result, 2);
    assert.equal(store.listRemotes().length, 2);
  });

  it('close is idempotent', () => {
    store.close();
    store.close();
  });
});
