import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeTarget, findRemote, type SavedRemote } from '../../../../src/cli/legacy/remotes.ts';
import { mightBeLegacy } from '../../../../src/cli/legacy/detect.ts';

const remote = (alias: string, host: string, user: string | null = null): SavedRemote => ({ alias, host, user, port: null, identityFile: null });

describe('findRemote (v2 fuzzy lookup)', () => {
  const remotes = [remote('gpu-box', 'gpu.example.com', 'alice'), remote('gpu-2', 'gpu2.example.com'), remote('lab', '10.0.0.5')];
  it('by alias, by host, by user@host, by a unique prefix', () => {
    assert.equal(findRemote(remotes, 'lab')?.how, 'alias');
    assert.equal(findRemote(remotes, '10.0.0.5')?.remote.alias, 'lab');
    assert.equal(findRemote(remotes, 'alice@gpu.example.com')?.remote.alias, 'gpu-box');
    assert.equal(findRemote(remotes, 'la')?.how, 'alias-prefix');
    assert.equal(findRemote(remotes, '10.0')?.how, 'host-prefix');
  });
  it('nothing when ambiguous or unknown', () => {
    assert.equal(findRemote(remotes, 'gpu'), undefined);
    assert.equal(findRemote(remotes, 'elsewhere'), undefined);
    assert.equal(findRemote(remotes, 'local'), undefined);
  });
});

describe('composeTarget', () => {
  it('adds or replaces user and port', () => {
    assert.equal(composeTarget('h', undefined, undefined), 'h');
    assert.equal(composeTarget('h', 'bob', 2222), 'bob@h:2222');
    assert.equal(composeTarget('alice@h:22', 'bob', undefined), 'bob@h:22');
    assert.equal(composeTarget('alice@h:22', undefined, 2200), 'alice@h:2200');
    assert.equal(composeTarget('::1', 'root', 2222), 'root@[::1]:2222');
    assert.equal(composeTarget('[::1]:22', undefined, 2200), '[::1]:2200');
  });
});

describe('mightBeLegacy', () => {
  it('spots v2 forms cheaply and nothing else', () => {
    for (const line of ['remote connect h', '--debug doctor', 'sync --dryrun', 'init --ray', 'init --python-version=3.11', '-C /x remote list-remotes', 'remote datasync up']) {
      assert.equal(mightBeLegacy(line.split(' ')), true, line);
    }
    for (const line of ['connect h', 'remote list', 'init --force', 'exec h -- x --debug', 'datasync up -r a:b']) {
      assert.equal(mightBeLegacy(line.split(' ')), false, line);
    }
  });
});
