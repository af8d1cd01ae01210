import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '../../../../src/core/errors.ts';
import { classifyRsyncFailure, isMkpathUnsupported, type RsyncFailure } from '../../../../src/services/sync/rsync-errors.ts';
import { loadFixture } from './fixtures.ts';

function failure(name: string, direction: 'push' | 'fetch' = 'push'): RsyncFailure {
  const fixture = loadFixture(name);
  return { code: fixture.code, signal: null, stderr: fixture.stderr, direction, host: 'gpu-box' };
}

function made(code: number, stderr: string, direction: 'push' | 'fetch' = 'push'): RsyncFailure {
  return { code, signal: null, stderr, direction, host: 'gpu-box' };
}

describe('rsync failure classification', () => {
  it('recorded: a banner from the login shell', () => {
    const error = classifyRsyncFailure(failure('error-shell-not-clean'));
    assert.equal(error.code, 'SYNC_SHELL_NOT_CLEAN');
    assert.match(error.hint, /bashrc/);
  });

  it('recorded: no rsync on the host (exit 12 after "command not found")', () => {
    assert.equal(classifyRsyncFailure(failure('error-rsync-missing-on-host')).code, 'SYNC_RSYNC_MISSING_ON_HOST');
  });

  it('other shells saying rsync is missing, and exit 127', () => {
    for (const stderr of ['sh: 1: rsync: not found\n', 'zsh:1: command not found: rsync\n', 'bash: /opt/bin/rsync: No such file or directory\n']) {
      assert.equal(classifyRsyncFailure(made(12, stderr)).code, 'SYNC_RSYNC_MISSING_ON_HOST', stderr);
    }
    assert.equal(classifyRsyncFailure(made(127, '')).code, 'SYNC_RSYNC_MISSING_ON_HOST');
  });

  it('recorded: connection refused, with ssh\'s own line in the message', () => {
    const error = classifyRsyncFailure(failure('error-connection-refused'));
    assert.equal(error.code, 'SYNC_CONNECTION_FAILED');
    assert.equal(error.exitCode, ExitCode.unreachable);
    assert.match(error.message, /Connection refused/);
    assert.match(error.hint, /ssh gpu-box true/);
  });

  it('a dropped connection and an I/O timeout', () => {
    assert.equal(classifyRsyncFailure(made(12, 'rsync: connection unexpectedly closed (1234 bytes received so far) [sender]\n')).code, 'SYNC_CONNECTION_FAILED');
    const timeout = classifyRsyncFailure(made(30, '[sender] io timeout after 120 seconds -- exiting\nrsync error: timeout in data send/receive (code 30)\n'));
    assert.equal(timeout.code, 'SYNC_CONNECTION_FAILED');
    assert.match(timeout.message, /timeout/);
  });

  it('recorded: disk full on the host', () => {
    const error = classifyRsyncFailure(failure('error-disk-full'));
    assert.equal(error.code, 'SYNC_DISK_FULL');
    assert.match(error.message, /gpu-box/);
    assert.match(error.details.join('\n'), /No space left/);
  });

  it('disk full while fetching is about this machine', () => {
    const error = classifyRsyncFailure(made(11, 'rsync: [receiver] write failed on "x": No space left on device (28)\n', 'fetch'));
    assert.match(error.message, /this machine/);
  });

  it('recorded: fetching a path the host does not have', () => {
    const error = classifyRsyncFailure(failure('error-fetch-missing', 'fetch'));
    assert.equal(error.code, 'SYNC_PATH_NOT_FOUND');
    assert.match(error.message, /no-such-dir/);
  });

  it('partial transfer (23) lists rsync\'s lines', () => {
    const error = classifyRsyncFailure(made(23, 'rsync: [sender] send_files failed to open "/p/secret": Permission denied (13)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23)\n'));
    assert.equal(error.code, 'SYNC_PARTIAL_TRANSFER');
    assert.match(error.details[0]!, /Permission denied/);
  });

  it('anything else is SYNC_FAILED with the last lines', () => {
    const error = classifyRsyncFailure(made(1, 'rsync: something new\nrsync error: syntax or usage error (code 1)\n'));
    assert.equal(error.code, 'SYNC_FAILED');
    assert.equal(error.details.length, 2);
    assert.match(classifyRsyncFailure({ code: null, signal: 'SIGKILL', stderr: '', direction: 'push', host: 'h' }).message, /SIGKILL/);
  });

  it('recognises an old host rsync refusing --mkpath', () => {
    assert.ok(isMkpathUnsupported(made(1, 'rsync: on remote machine: --mkpath: unknown option\nrsync error: syntax or usage error (code 1)\n')));
    assert.ok(!isMkpathUnsupported(failure('error-connection-refused')));
  });
});
