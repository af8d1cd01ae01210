import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import type { ProcessRunner } from '../../../../src/infrastructure/process.ts';
import { RcloneSftpSyncManager } from '../../../../src/services/sync/rclone-sync-manager.ts';
import type { RemoteEntry } from '../../../../src/services/sync/rclone-plan.ts';

/**
 * The rclone push's decisions with a fake rclone: what it is told to copy and
 * delete. The fake honours maxOutputBytes the way runProcess does (output past
 * the cap is dropped).
 */
function fakeRclone(remote: RemoteEntry[]) {
  const lists: Record<string, string[]> = {};
  const runner: ProcessRunner = async (command, args, options = {}) => {
    const cap = (text: string) => Buffer.from(text).subarray(0, options.maxOutputBytes ?? 32 * 1024 * 1024).toString('utf8');
    if (command === 'ssh') return { code: 0, signal: null, stdout: 'hostname 127.0.0.1\nport 22\nuser me\n', stderr: '', timedOut: false };
    const verb = args[0]!;
    if (verb === 'lsjson') return { code: 0, signal: null, stdout: cap(JSON.stringify(remote, null, 0).replace(/},{/g, '},\n{')), stderr: '', timedOut: false };
    const from = args.indexOf('--files-from-raw');
    if (from !== -1) lists[verb] = readFileSync(args[from + 1]!, 'utf8').split('\n').filter(Boolean).sort();
    return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false };
  };
  return { runner, lists };
}

const remoteShell = { rsh: 'ssh', destination: 'gpu', sshArgs: ['--', 'gpu'] };

describe('rclone push (fake rclone)', () => {
  it('a host folder whose listing is larger than 1 MiB is planned, not a crash', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-big-'));
    writeFileSync(join(root, 'keep.txt'), 'k');
    const remote: RemoteEntry[] = [{ Path: 'keep.txt', IsDir: false, Size: 1 }];
    for (let i = 0; i < 20_000; i++) remote.push({ Path: `old/file-${String(i).padStart(6, '0')}-with-a-longer-name.bin`, IsDir: false, Size: 1 });
    remote.push({ Path: 'old', IsDir: true, Size: 0 });
    const { runner, lists } = fakeRclone(remote);
    const manager = new RcloneSftpSyncManager({ runProcess: runner, env: {}, homeDir: root });
    const summary = await manager.push({ remote: remoteShell, localDir: root, remoteDir: 'projects/x' });
    assert.equal(lists.delete?.length, 20_000);
    assert.equal(summary.deleted, 20_001);
  });

  it('a listing rclone cut short is a SYNC_FAILED error that says so, never a deletion plan', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-cut-'));
    const runner: ProcessRunner = async (command) => (command === 'ssh'
      ? { code: 0, signal: null, stdout: 'hostname h\nport 22\nuser me\n', stderr: '', timedOut: false }
      : { code: 0, signal: null, stdout: '[{"Path":"a","IsDir":false', stderr: '', timedOut: false });
    const manager = new RcloneSftpSyncManager({ runProcess: runner, env: {}, homeDir: root });
    await assert.rejects(manager.push({ remote: remoteShell, localDir: root, remoteDir: 'projects/x' }),
      (error: unknown) => error instanceof UserError && error.code === 'SYNC_FAILED' && /listing/.test(error.message));
  });

  it('a sub-folder .gitignore means what it means to rsync ("sub/x" in sub/.gitignore ignores sub/x): not copied, not deleted', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-gi-'));
    mkdirSync(join(root, 'sub', 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub', '.gitignore'), 'sub/x\n');
    writeFileSync(join(root, 'sub', 'x'), '1');
    writeFileSync(join(root, 'sub', 'y'), '2');
    writeFileSync(join(root, 'sub', 'sub', 'x'), '3');
    // rsync with `:- .gitignore` sends sub/.gitignore and sub/y only (checked with rsync 3.2.7), and keeps the host's sub/x.
    const { runner, lists } = fakeRclone([{ Path: 'sub', IsDir: true, Size: 0 }, { Path: 'sub/x', IsDir: false, Size: 1 }]);
    const manager = new RcloneSftpSyncManager({ runProcess: runner, env: {}, homeDir: root });
    await manager.push({ remote: remoteShell, localDir: root, remoteDir: 'projects/x', rules: { respectDockerignore: false } });
    assert.deepEqual(lists.copy, ['sub/.gitignore', 'sub/y']);
    assert.equal(lists.delete, undefined, 'the host sub/x is ignored, so it stays');
  });
});

describe('rclone push and host symlinks (fake rclone)', () => {
  it('a path the host has as a symlink is never written through: what is at or below it is not copied, and a warning names it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-links-'));
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data', 'labels.csv'), 'mine');
    writeFileSync(join(root, 'cfg.txt'), 'mine');
    writeFileSync(join(root, 'new.txt'), 'new');
    const seen: string[] = [];
    let copied: string[] = [];
    const runner: ProcessRunner = async (command, args, options = {}) => {
      const ok = (stdout = '') => ({ code: 0, signal: null, stdout, stderr: '', timedOut: false });
      if (command === 'ssh') return ok('hostname h\nport 22\nuser me\n');
      if (args[0] === 'lsjson') {
        const follows = options.env?.RCLONE_SFTP_SKIP_LINKS === 'false';
        seen.push(`${follows ? 'follow' : 'skip'} ${args.includes('-R') ? '-R' : `--max-depth ${args[args.indexOf('--max-depth') + 1]}`} ${args.find((arg) => arg.startsWith(':sftp:'))}`);
        // The host: data -> /mnt/shared (a folder), cfg.txt -> ../shared.txt; only a listing that follows links shows them.
        return ok(JSON.stringify(follows ? [{ Path: 'data', IsDir: true, Size: 0 }, { Path: 'cfg.txt', IsDir: false, Size: 6 }] : []));
      }
      if (args[0] === 'copy') copied = readFileSync(args[args.indexOf('--files-from-raw') + 1]!, 'utf8').split('\n').filter(Boolean);
      return ok();
    };
    const manager = new RcloneSftpSyncManager({ runProcess: runner, env: {}, homeDir: root });
    const summary = await manager.push({ remote: remoteShell, localDir: root, remoteDir: 'projects/x', rules: { respectDockerignore: false } });
    assert.deepEqual(copied, ['new.txt']);
    assert.deepEqual(seen, ['skip -R :sftp:projects/x', 'follow --max-depth 1 :sftp:projects/x']);
    assert.ok(summary.warnings.some((w) => /symlink/.test(w) && w.includes('"cfg.txt"') && w.includes('"data"')), summary.warnings.join('\n'));
    assert.equal(summary.deleted, 0);
  });

  it('a push that adds nothing new looks for no links (no extra connection)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-nolinks-'));
    writeFileSync(join(root, 'a.txt'), 'a');
    const { runner } = fakeRclone([{ Path: 'a.txt', IsDir: false, Size: 1 }]);
    let listings = 0;
    const counting: ProcessRunner = async (command, args, options) => {
      if (args[0] === 'lsjson') listings++;
      return runner(command, args, options);
    };
    await new RcloneSftpSyncManager({ runProcess: counting, env: {}, homeDir: root }).push({ remote: remoteShell, localDir: root, remoteDir: 'projects/x', rules: { respectDockerignore: false } });
    assert.equal(listings, 1);
  });
});
