import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { openStateStore, type StateStore } from '../../../../src/db/index.ts';
import { createRemotesOrchestrator, type RemotesOrchestrator } from '../../../../src/orchestrators/remotes/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlt-remotes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let store: StateStore;
let remotes: RemotesOrchestrator;
const existing = new Set(['/home/alice/.ssh/id_lab']);

beforeEach(async () => {
  store = await openStateStore({ file: join(mkdtempSync(join(dir, 'db-')), 'state.db') });
  remotes = createRemotesOrchestrator({ store, homeDir: '/home/alice', cwd: '/home/alice/project', fileExists: (p) => existing.has(p) });
  return () => store.close();
});

const rejects = (code: string) => (e: unknown) => e instanceof UserError && e.code === code;

describe('remotes orchestrator', () => {
  it('adds a remote from a full target', () => {
    const outcome = remotes.add({ alias: 'gpu', target: 'alice@gpu-box:2222' });
    assert.equal(outcome.created, true);
    assert.deepEqual(outcome.warnings, []);
    assert.deepEqual({ ...outcome.remote, createdAt: 'x' }, { alias: 'gpu', host: 'gpu-box', user: 'alice', port: 2222, identityFile: null, createdAt: 'x', lastUsedAt: null });
    assert.deepEqual(remotes.list().map((r) => r.alias), ['gpu']);
  });

  it('takes user and port from options, and leaves them to ssh when absent', () => {
    assert.deepEqual(
      (({ user, port }) => ({ user, port }))(remotes.add({ alias: 'a', target: '10.0.0.5', user: 'bob', port: '2200' }).remote),
      { user: 'bob', port: 2200 });
    assert.deepEqual((({ user, port }) => ({ user, port }))(remotes.add({ alias: 'b', target: 'ssh-config-host' }).remote), { user: null, port: null });
    // Saying the same thing twice is fine.
    assert.equal(remotes.add({ alias: 'c', target: 'bob@h:22', user: 'bob', port: '22' }).remote.port, 22);
  });

  it('refuses a target and options that disagree', () => {
    assert.throws(() => remotes.add({ alias: 'a', target: 'alice@h', user: 'bob' }), rejects('REMOTE_TARGET_INVALID'));
    assert.throws(() => remotes.add({ alias: 'a', target: 'h:22', port: '2222' }), rejects('REMOTE_TARGET_INVALID'));
    assert.throws(() => remotes.add({ alias: 'a', target: 'h', port: 'ssh' }), rejects('REMOTE_TARGET_INVALID'));
    assert.throws(() => remotes.add({ alias: 'a', target: 'h', user: '-oX' }), rejects('REMOTE_TARGET_INVALID'));
    assert.throws(() => remotes.add({ alias: '-a', target: 'h' }), rejects('REMOTE_ALIAS_INVALID'));
    assert.deepEqual(remotes.list(), [], 'nothing saved on error');
  });

  it('expands ~ and relative identity files; warns when the file is missing', () => {
    const lab = remotes.add({ alias: 'lab', target: 'h', identityFile: '~/.ssh/id_lab' });
    assert.equal(lab.remote.identityFile, '/home/alice/.ssh/id_lab');
    assert.deepEqual(lab.warnings, []);
    const rel = remotes.add({ alias: 'rel', target: 'h', identityFile: 'keys/id' });
    assert.equal(rel.remote.identityFile, '/home/alice/project/keys/id');
    assert.match(rel.warnings[0]!, /identity file \/home\/alice\/project\/keys\/id does not exist/);
  });

  it('adding an existing alias updates it', () => {
    remotes.add({ alias: 'gpu', target: 'old-host' });
    const again = remotes.add({ alias: 'gpu', target: 'new-host' });
    assert.equal(again.created, false);
    assert.deepEqual(remotes.list().map((r) => r.host), ['new-host']);
  });

  it('removes a remote and returns what it was', () => {
    remotes.add({ alias: 'gpu', target: 'alice@gpu-box' });
    assert.equal(remotes.remove('gpu').host, 'gpu-box');
    assert.deepEqual(remotes.list(), []);
  });

  it('removing an unknown alias suggests the closest one', () => {
    remotes.add({ alias: 'gpu-box', target: 'h' });
    assert.throws(() => remotes.remove('gpu-bx'), (e: unknown) => rejects('REMOTE_NOT_FOUND')(e)
      && (e as UserError).hint.startsWith(`did you mean 'gpu-box'?`) && (e as UserError).data?.suggestion === 'gpu-box');
    assert.throws(() => remotes.remove('zzzzzz'), (e: unknown) => rejects('REMOTE_NOT_FOUND')(e) && /remote list/.test((e as UserError).hint));
  });

  it('removing from an empty list says how to add one', () => {
    assert.throws(() => remotes.remove('gpu'), (e: unknown) => rejects('REMOTE_NOT_FOUND')(e) && /remote add/.test((e as UserError).hint));
  });
});
