import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ProcessRunner } from '../../../../src/infrastructure/process.ts';
import { RsyncSyncManager } from '../../../../src/services/sync/index.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-rsync-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));
const remote = { rsh: 'ssh', destination: 'gpu-box' };
const project = join(root, 'project');
mkdirSync(project);
const bin = join(root, 'bin');
mkdirSync(bin);
const binary = join(bin, 'rsync');
const cacheFile = join(root, 'cache', 'rsync-version.json');
const env = { PATH: `${join(root, 'empty')}:${bin}` };

function installRsync(content: string, mtime: number): void {
  writeFileSync(binary, content);
  chmodSync(binary, 0o755);
  utimesSync(binary, mtime, mtime);
}

/** Counts `--version` runs; answers with `version`. */
function fakeRsync(version: string) {
  const runs = { version: 0, command: '' };
  const run: ProcessRunner = async (command, args) => {
    if (args[0] === '--version') {
      runs.version++;
      runs.command = command;
      return { code: 0, signal: null, stdout: version, stderr: '', timedOut: false };
    }
    return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false };
  };
  return { run, runs };
}

const push = (run: ProcessRunner) => new RsyncSyncManager({ runProcess: run, env, versionCacheFile: cacheFile }).push({ remote, localDir: project, remoteDir: 'p' });

describe('rsync --version cache', () => {
  it('asks once per binary: a new process reuses it; a changed binary (size or mtime) is asked again', async () => {
    installRsync('#!/bin/sh\n', 1_700_000_000);
    const first = fakeRsync('rsync  version 3.2.7  protocol version 31\n');
    await push(first.run);
    assert.equal(first.runs.version, 1);
    assert.match(readFileSync(cacheFile, 'utf8'), /3\.2\.7/);

    const warm = fakeRsync('rsync  version 3.2.7  protocol version 31\n');
    await push(warm.run);
    assert.equal(warm.runs.version, 0, 'a warm sync runs no rsync --version');

    installRsync('#!/bin/sh\n', 1_700_000_100); // same size, upgraded in place
    const touched = fakeRsync('rsync  version 2.6.9  protocol version 29\n');
    await assert.rejects(push(touched.run), { code: 'SYNC_RSYNC_TOO_OLD' });
    assert.equal(touched.runs.version, 1);

    installRsync('#!/bin/sh\n# a different build\n', 1_700_000_100);
    const resized = fakeRsync('rsync  version 3.2.7  protocol version 31\n');
    await push(resized.run);
    assert.equal(resized.runs.version, 1);
  });

  it('a damaged cache file or an rsync not on PATH means asking rsync, never a failure', async () => {
    installRsync('#!/bin/sh\n', 1_700_000_200);
    mkdirSync(join(root, 'cache'), { recursive: true });
    writeFileSync(cacheFile, '{"key": 1');
    const damaged = fakeRsync('rsync  version 3.2.7  protocol version 31\n');
    await push(damaged.run);
    assert.equal(damaged.runs.version, 1);

    const elsewhere = fakeRsync('rsync  version 3.2.7  protocol version 31\n');
    const manager = new RsyncSyncManager({ runProcess: elsewhere.run, env: { PATH: join(root, 'empty') }, versionCacheFile: cacheFile });
    await manager.push({ remote, localDir: project, remoteDir: 'p' });
    await manager.push({ remote, localDir: project, remoteDir: 'p' });
    assert.equal(elsewhere.runs.version, 1, 'asked once per process when there is no binary to key the cache on');
  });
});
