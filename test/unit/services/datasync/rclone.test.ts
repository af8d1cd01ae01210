import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isUserError } from '../../../../src/core/errors.ts';
import { buildRcloneArgs, splitPatterns, validateCount, validateRemotePath, validateSize } from '../../../../src/services/datasync/rclone-args.ts';
import { RcloneOutput, parseLogLine } from '../../../../src/services/datasync/rclone-output.ts';
import { RcloneSyncManager } from '../../../../src/services/datasync/rclone-sync-manager.ts';
import { localRcloneExecutor } from '../../../../src/services/datasync/local-executor.ts';
import type { DataSyncProgress, RcloneExecutor } from '../../../../src/services/datasync/types.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(isUserError(error));
    return error.code;
  }
  return 'no error';
};

describe('rclone argv', () => {
  it('up copies local -> remote, down the reverse; options map to rclone flags', () => {
    const up = buildRcloneArgs({ direction: 'up', localDir: '/p/data', remotePath: 'gd:x', transfers: 8, checkers: 16, chunkSize: '64M', cutoff: '250M', exclude: ['*.tmp', '-weird'], dryRun: true });
    assert.deepEqual(up.slice(0, 3), ['copy', '/p/data', 'gd:x']);
    for (const pair of [['--transfers', '8'], ['--checkers', '16'], ['--drive-chunk-size', '64M'], ['--multi-thread-cutoff', '250M']]) {
      assert.equal(up[up.indexOf(pair[0]!) + 1], pair[1]);
    }
    assert.ok(up.includes('--exclude=*.tmp') && up.includes('--exclude=-weird') && up.includes('--dry-run') && up.includes('--use-json-log'));
    const down = buildRcloneArgs({ direction: 'down', localDir: '/p/data', remotePath: 'gd:x' });
    assert.deepEqual(down.slice(0, 3), ['copy', 'gd:x', '/p/data']);
    assert.ok(!down.includes('--dry-run') && !down.includes('sync'));
  });

  it('validates what goes on argv', () => {
    assert.equal(validateSize('64M', '--chunk-size'), '64M');
    assert.equal(validateSize('1.5Gi', '--cutoff'), '1.5Gi');
    assert.equal(code(() => validateSize('lots', '--cutoff')), 'USAGE');
    assert.equal(validateCount('4', '--transfers'), 4);
    assert.equal(code(() => validateCount('0', '--transfers')), 'USAGE');
    assert.equal(code(() => validateCount('4x', '--checkers')), 'USAGE');
    assert.equal(validateRemotePath(':local:/tmp/x'), ':local:/tmp/x');
    assert.equal(code(() => validateRemotePath('--config=/x')), 'USAGE');
    assert.equal(code(() => validateRemotePath(':s3,secret_access_key=abc:bucket')), 'USAGE');
    assert.equal(code(() => validateRemotePath(':sftp,pass=abc:/x')), 'USAGE');
    assert.equal(validateRemotePath(':sftp,host=example.org:/x'), ':sftp,host=example.org:/x');
    assert.deepEqual(splitPatterns(['a,b', ' c ', '']), ['a', 'b', 'c']);
  });
});

describe('rclone JSON log', () => {
  it('collects copied files, stats (as progress) and errors across chunk boundaries', () => {
    const progress: DataSyncProgress[] = [];
    const output = new RcloneOutput((p) => progress.push(p));
    const lines = [
      'bash: pyenv: command not found',
      JSON.stringify({ level: 'info', msg: 'Copied (new)', object: 'a.txt' }),
      JSON.stringify({ level: 'warning', msg: 'Skipped copy as --dry-run is set (size 3)', object: 'b.txt', skipped: 'copy' }),
      JSON.stringify({ level: 'error', msg: 'permission denied', object: 'c.txt' }),
      JSON.stringify({ level: 'warning', msg: 'stats', stats: { bytes: 50, totalBytes: 200, speed: 10, transfers: 1, totalTransfers: 4, checks: 0, errors: 1, eta: 15, elapsedTime: 1 } }),
    ].join('\n');
    output.push(lines.slice(0, 37));
    output.push(lines.slice(37));
    output.end();
    assert.deepEqual(output.changes, ['a.txt', 'b.txt']);
    assert.deepEqual(output.errors, ['c.txt: permission denied']);
    assert.deepEqual(output.otherLines, ['bash: pyenv: command not found']);
    assert.deepEqual(progress, [{ bytes: 50, totalBytes: 200, percent: 25, bytesPerSecond: 10, transfers: 1, totalTransfers: 4, etaSeconds: 15, errors: 1 }]);
    assert.equal(parseLogLine('{not json'), undefined);
  });
});

function fakeExecutor(result: { code: number; stderr: string; notFound?: boolean }): RcloneExecutor & { calls: { argv: readonly string[]; env: Record<string, string> }[] } {
  const calls: { argv: readonly string[]; env: Record<string, string> }[] = [];
  return {
    calls, mode: 'host', where: 'gpu-box', installHint: 'install it on gpu-box',
    async run(argv, options) {
      calls.push({ argv, env: options.env });
      options.onStderr(result.stderr);
      return result;
    },
  };
}

describe('RcloneSyncManager', () => {
  const request = { direction: 'up' as const, localDir: '/d', remotePath: 'r:x', configFile: '/etc/rclone.conf' };
  it('passes the config file by environment only, and summarises', async () => {
    const stats = JSON.stringify({ level: 'warning', msg: '', stats: { bytes: 9, totalBytes: 9, speed: 0, transfers: 2, totalTransfers: 2, checks: 1, errors: 0, eta: null, elapsedTime: 0 } });
    const executor = fakeExecutor({ code: 0, stderr: `${JSON.stringify({ level: 'info', msg: 'Copied (new)', object: 'f' })}\n${stats}\n` });
    const summary = await new RcloneSyncManager().transfer(request, executor);
    assert.equal(executor.calls[0]!.argv[0], 'rclone');
    assert.deepEqual(executor.calls[0]!.env, { RCLONE_CONFIG: '/etc/rclone.conf' });
    assert.ok(!executor.calls[0]!.argv.some((a) => a.includes('rclone.conf')));
    assert.equal(summary.filesTransferred, 2);
    assert.equal(summary.bytes, 9);
    assert.deepEqual(summary.changes, ['f']);
    assert.equal(summary.source, '/d');
    assert.equal(summary.destination, 'r:x');
  });

  it('rclone missing -> RCLONE_NOT_FOUND naming the place; failure -> DATASYNC_FAILED quoting rclone', async () => {
    const manager = new RcloneSyncManager();
    await assert.rejects(manager.transfer(request, fakeExecutor({ code: 127, stderr: 'bash: rclone: command not found\n' })),
      (e: unknown) => isUserError(e) && e.code === 'RCLONE_NOT_FOUND' && /gpu-box/.test(e.message) && e.hint === 'install it on gpu-box');
    const err = JSON.stringify({ level: 'error', msg: 'didn\'t find section in config file' });
    await assert.rejects(manager.transfer(request, fakeExecutor({ code: 1, stderr: `${err}\n` })),
      (e: unknown) => isUserError(e) && e.code === 'DATASYNC_FAILED' && /didn't find section/.test(e.message) && /listremotes/.test(e.hint));
  });
});

const hasRclone = (() => {
  try {
    execFileSync('rclone', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('RcloneSyncManager with the real rclone (local backend)', { skip: hasRclone ? false : 'rclone is not installed' }, () => {
  it('copies up and down through a named remote in a private rclone.conf; dry run copies nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-'));
    const conf = join(root, 'rclone.conf');
    writeFileSync(conf, `[store]\ntype = local\n`);
    const data = join(root, 'data');
    mkdirSync(join(data, 'sub'), { recursive: true });
    writeFileSync(join(data, 'a.txt'), 'alpha');
    writeFileSync(join(data, 'sub', 'b.bin'), 'beta');
    writeFileSync(join(data, 'skip.tmp'), 'no');
    const manager = new RcloneSyncManager();
    const executor = localRcloneExecutor({ env: { PATH: process.env.PATH, HOME: root } });
    const remotePath = `store:${join(root, 'bucket')}`;
    const dry = await manager.transfer({ direction: 'up', localDir: data, remotePath, exclude: ['*.tmp'], dryRun: true, configFile: conf }, executor);
    assert.deepEqual(dry.changes.sort(), ['a.txt', 'sub/b.bin']);
    assert.equal(existsSync(join(root, 'bucket')), false);
    const up = await manager.transfer({ direction: 'up', localDir: data, remotePath, exclude: ['*.tmp'], configFile: conf, transfers: 2 }, executor);
    assert.equal(up.filesTransferred, 2);
    assert.equal(readFileSync(join(root, 'bucket', 'sub', 'b.bin'), 'utf8'), 'beta');
    assert.equal(existsSync(join(root, 'bucket', 'skip.tmp')), false);
    const down = await manager.transfer({ direction: 'down', localDir: join(root, 'back'), remotePath, configFile: conf }, executor);
    assert.equal(down.filesTransferred, 2);
    assert.equal(readFileSync(join(root, 'back', 'a.txt'), 'utf8'), 'alpha');
    await assert.rejects(manager.transfer({ direction: 'up', localDir: data, remotePath: 'nosuch:x', configFile: conf }, executor),
      (e: unknown) => isUserError(e) && e.code === 'DATASYNC_FAILED');
  });
});
