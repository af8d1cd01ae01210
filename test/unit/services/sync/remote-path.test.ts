import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUserError } from '../../../../src/core/errors.ts';
import { normalizeFetchPath, normalizeRemoteDir, remoteSpec } from '../../../../src/services/sync/remote-path.ts';

function refused(dir: string): boolean {
  try {
    normalizeRemoteDir(dir);
    return false;
  } catch (error) {
    assert.ok(isUserError(error) && error.code === 'SYNC_UNSAFE_REMOTE_DIR', String(error));
    return true;
  }
}

describe('remote project folder', () => {
  it('refuses folders a mirroring push must not touch', () => {
    for (const dir of ['', ' ', '/', '//', '~', '~/', '.', './', '~/.', '/root', '/root/', '/home/alice', '/Users/bob', '/var/home/eve', '/tmp', '/etc', '/etc/x', '/usr/local/lib', 'a/../b', '../x', '~other/x', 'a\nb']) {
      assert.ok(refused(dir), `should refuse ${JSON.stringify(dir)}`);
    }
  });

  it('accepts and normalises project folders', () => {
    assert.equal(normalizeRemoteDir('~/projects/x/'), 'projects/x');
    assert.equal(normalizeRemoteDir('projects//x/.'), 'projects/x');
    assert.equal(normalizeRemoteDir('/home/alice/projects/x'), '/home/alice/projects/x');
    assert.equal(normalizeRemoteDir('/workspace'), '/workspace');
    assert.equal(normalizeRemoteDir("/tmp/mlt sync 'q' $(touch /tmp/pwned)"), "/tmp/mlt sync 'q' $(touch /tmp/pwned)");
  });

  it('fetch paths stay inside the project', () => {
    assert.equal(normalizeFetchPath('outputs/'), 'outputs');
    assert.equal(normalizeFetchPath('./a//b'), 'a/b');
    assert.equal(normalizeFetchPath(''), '.');
    for (const bad of ['../x', '/etc', '~/x', 'a/../../b']) assert.throws(() => normalizeFetchPath(bad), /SYNC|fetch/);
  });

  it('brackets IPv6 hosts', () => {
    assert.equal(remoteSpec('gpu', 'p/'), 'gpu:p/');
    assert.equal(remoteSpec('root@::1', 'p/'), 'root@[::1]:p/');
    assert.equal(remoteSpec('[::1]', 'p/'), '[::1]:p/');
  });
});
