import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ProcessResult, ProcessRunner, RunProcessOptions } from '../../../../src/infrastructure/process.ts';
import { RsyncSyncManager } from '../../../../src/services/sync/index.ts';
import type { SyncProgress } from '../../../../src/services/sync/types.ts';
import { loadFixture } from './fixtures.ts';

const project = mkdtempSync(join(tmpdir(), 'mlt-sync-unit-'));
after(() => rmSync(project, { recursive: true, force: true }));
const remote = { rsh: 'ssh', destination: 'gpu-box' };

interface Call {
  args: readonly string[];
  options: RunProcessOptions | undefined;
}

/** A fake rsync: answers --version, then replays the given results in order. */
function fakeRsync(results: Array<Partial<ProcessResult> | Error>, version = 'rsync  version 3.2.7  protocol version 31\n') {
  const calls: Call[] = [];
  const run: ProcessRunner = async (_command, args, options) => {
    if (args[0] === '--version') return { code: 0, signal: null, stdout: version, stderr: '', timedOut: false };
    calls.push({ args, options });
    const next = results.shift() ?? {};
    if (next instanceof Error) throw next;
    const result = { code: 0, signal: null, stdout: '', stderr: '', timedOut: false, ...next };
    options?.onStdout?.(result.stdout);
    return result;
  };
  return { run, calls };
}

describe('RsyncSyncManager', () => {
  it('push: streams progress and returns the summary', async () => {
    const fixture = loadFixture('push-first');
    const fake = fakeRsync([{ stdout: fixture.stdout }]);
    const progress: SyncProgress[] = [];
    const summary = await new RsyncSyncManager({ runProcess: fake.run }).push({ remote, localDir: project, remoteDir: '~/p', onProgress: (p) => progress.push(p) });
    assert.equal(summary.filesTransferred, 7);
    assert.equal(summary.changes.added.length, 8);
    assert.equal(summary.dryRun, false);
    assert.ok(progress.length > 0);
    assert.equal(fake.calls[0]!.args.at(-1), 'gpu-box:p/');
  });

  it('push: refuses an unsafe folder before running anything', async () => {
    const fake = fakeRsync([]);
    await assert.rejects(new RsyncSyncManager({ runProcess: fake.run }).push({ remote, localDir: project, remoteDir: '~' }), { code: 'SYNC_UNSAFE_REMOTE_DIR' });
    assert.equal(fake.calls.length, 0);
  });

  it('push: a missing local folder', async () => {
    await assert.rejects(new RsyncSyncManager({ runProcess: fakeRsync([]).run }).push({ remote, localDir: join(project, 'nope'), remoteDir: 'p' }), { code: 'SYNC_PATH_NOT_FOUND' });
  });

  it('push: reads .dockerignore and config rules into filters', async () => {
    const dir = mkdtempSync(join(project, 'docker-'));
    writeFileSync(join(dir, '.dockerignore'), 'secret.env\n');
    const fake = fakeRsync([{}]);
    await new RsyncSyncManager({ runProcess: fake.run }).push({ remote, localDir: dir, remoteDir: 'p', rules: { exclude: ['*.bin'], protect: [] } });
    const filters = fake.calls[0]!.args.filter((a) => a.startsWith('--filter='));
    assert.deepEqual(filters, ['--filter=- .git', '--filter=P *.bin', '--filter=- *.bin', '--filter=- /secret.env']);
  });

  it('push: .gitignore files become plain rules (deeper first), so deletion need not wait for the transfer', async () => {
    const dir = mkdtempSync(join(project, 'gitignore-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, '.gitignore'), 'data/\n');
    writeFileSync(join(dir, 'src', '.gitignore'), '/gen/\n*.o\n');
    const fake = fakeRsync([{}]);
    await new RsyncSyncManager({ runProcess: fake.run }).push({ remote, localDir: dir, remoteDir: 'p', rules: { protect: [] } });
    const args = fake.calls[0]!.args;
    assert.deepEqual(args.filter((a) => a.startsWith('--filter=')), ['--filter=- .git', '--filter=- /src/gen/', '--filter=- /src/*.o', '--filter=- /src/**/*.o', '--filter=- data/']);
    assert.ok(args.includes('--delete-delay') && !args.includes('--delete-after'));
  });

  it('push: an old host rsync without --mkpath is retried with mkdir -p, and remembered', async () => {
    const fake = fakeRsync([{ code: 1, stderr: 'rsync: on remote machine: --mkpath: unknown option\n' }, {}, {}]);
    const manager = new RsyncSyncManager({ runProcess: fake.run });
    await manager.push({ remote, localDir: project, remoteDir: 'p q' });
    assert.ok(fake.calls[0]!.args.includes('--mkpath'));
    assert.ok(fake.calls[1]!.args.includes("--rsync-path=mkdir -p -- 'p q' && rsync"));
    await manager.push({ remote, localDir: project, remoteDir: 'p q' });
    assert.ok(!fake.calls[2]!.args.includes('--mkpath'));
  });

  it('exit 24 (files vanished mid-copy) is success with a warning', async () => {
    const summary = await new RsyncSyncManager({ runProcess: fakeRsync([{ code: 24 }]).run }).push({ remote, localDir: project, remoteDir: 'p' });
    assert.equal(summary.warnings.length, 1);
  });

  it('failures are classified', async () => {
    const fixture = loadFixture('error-connection-refused');
    await assert.rejects(new RsyncSyncManager({ runProcess: fakeRsync([{ code: fixture.code, stderr: fixture.stderr }]).run }).push({ remote, localDir: project, remoteDir: 'p' }), { code: 'SYNC_CONNECTION_FAILED' });
  });

  it('no local rsync, or one too old', async () => {
    const enoent = Object.assign(new Error('spawn rsync ENOENT'), { code: 'ENOENT' });
    const missing: ProcessRunner = async () => {
      throw enoent;
    };
    await assert.rejects(new RsyncSyncManager({ runProcess: missing }).push({ remote, localDir: project, remoteDir: 'p' }), { code: 'SYNC_RSYNC_NOT_INSTALLED' });
    const old = fakeRsync([], 'rsync  version 2.6.9  protocol version 29\n');
    await assert.rejects(new RsyncSyncManager({ runProcess: old.run }).push({ remote, localDir: project, remoteDir: 'p' }), { code: 'SYNC_RSYNC_TOO_OLD' });
  });

  it('rsync never sees RSYNC_OLD_ARGS / RSYNC_PROTECT_ARGS (they would re-enable shell splitting)', async () => {
    const fake = fakeRsync([{}]);
    await new RsyncSyncManager({ runProcess: fake.run, env: { PATH: '/bin', RSYNC_OLD_ARGS: '1', RSYNC_PROTECT_ARGS: '0' } }).push({ remote, localDir: project, remoteDir: 'p' });
    assert.deepEqual(fake.calls[0]!.options?.env, { PATH: '/bin' });
  });

  it('fetch: creates the local folder, passes the paths, never deletes', async () => {
    const fake = fakeRsync([{ stdout: loadFixture('fetch-outputs').stdout }]);
    const localDir = join(project, 'fetch-target');
    const summary = await new RsyncSyncManager({ runProcess: fake.run }).fetch({ remote, remoteDir: '~/p/', localDir, paths: ['outputs/'] });
    assert.deepEqual(summary.changes.added, ['outputs/', 'outputs/metrics.json', 'outputs/run1.txt']);
    assert.deepEqual(fake.calls[0]!.args.slice(-2), ['gpu-box:p/./outputs', `${localDir}/`]);
    assert.ok(!fake.calls[0]!.args.some((a) => a.startsWith('--delete')));
  });

  it('fetch: refuses paths outside the project', async () => {
    await assert.rejects(new RsyncSyncManager({ runProcess: fakeRsync([]).run }).fetch({ remote, remoteDir: 'p', localDir: project, paths: ['../etc'] }), { code: 'SYNC_PATH_NOT_FOUND' });
  });

  describe('the fast channel (remote.fast)', () => {
    const forgotten: string[] = [];
    /** A host with a saved channel; forgetting it removes it, as the ssh host does (its saved file). */
    const fastRemote = () => {
      let saved = true;
      const channel = { rsh: 'bash fast-rsh.bash 4000 1 ssh', env: () => ({ MLT_FAST_CLIENT_PROOF: 'secret-proof' }), forget: () => void (forgotten.push('forgot'), (saved = false)) };
      return { ...remote, fast: () => (saved ? channel : undefined) };
    };

    it('goes through it first, with the handshake in the environment and never in argv', async () => {
      forgotten.length = 0;
      const fake = fakeRsync([{ stdout: loadFixture('push-first').stdout }]);
      const summary = await new RsyncSyncManager({ runProcess: fake.run }).push({ remote: fastRemote(), localDir: project, remoteDir: 'p' });
      assert.equal(summary.channel, 'fast');
      assert.equal(fake.calls.length, 1);
      assert.equal(fake.calls[0]!.args[fake.calls[0]!.args.indexOf('--rsh') + 1], 'bash fast-rsh.bash 4000 1 ssh');
      assert.equal(fake.calls[0]!.options?.env?.MLT_FAST_CLIENT_PROOF, 'secret-proof');
      assert.ok(!fake.calls[0]!.args.some((a) => a.includes('secret-proof')));
      assert.deepEqual(forgotten, []);
    });

    it('a channel that does not answer is forgotten and the same transfer goes by ssh, without the handshake', async () => {
      forgotten.length = 0;
      const fake = fakeRsync([
        { code: 12, stderr: 'channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed\nrsync: connection unexpectedly closed (0 bytes received so far) [sender]\n' },
        { stdout: loadFixture('push-first').stdout },
      ]);
      const summary = await new RsyncSyncManager({ runProcess: fake.run }).push({ remote: fastRemote(), localDir: project, remoteDir: 'p' });
      assert.equal(summary.channel, 'ssh');
      assert.deepEqual(forgotten, ['forgot']);
      assert.equal(fake.calls[1]!.args[fake.calls[1]!.args.indexOf('--rsh') + 1], 'ssh');
      assert.equal(fake.calls[1]!.options?.env?.MLT_FAST_CLIENT_PROOF, undefined);
    });

    it('once it did not answer, the same manager (a watch) goes by ssh at once', async () => {
      const fake = fakeRsync([{ code: 12, stderr: 'stdio forwarding failed\n' }, {}, {}]);
      const manager = new RsyncSyncManager({ runProcess: fake.run });
      const remote = fastRemote();
      await manager.push({ remote, localDir: project, remoteDir: 'p' });
      const again = await manager.push({ remote, localDir: project, remoteDir: 'p' });
      assert.equal(again.channel, 'ssh');
      assert.equal(fake.calls.length, 3);
    });

    it('a transfer that failed after it started is an error, not a second attempt', async () => {
      forgotten.length = 0;
      const fake = fakeRsync([{ code: 23, stderr: 'rsync: [receiver] mkstemp "/p/.x" failed: Permission denied (13)\n' }]);
      await assert.rejects(new RsyncSyncManager({ runProcess: fake.run }).push({ remote: fastRemote(), localDir: project, remoteDir: 'p' }));
      assert.equal(fake.calls.length, 1);
      assert.deepEqual(forgotten, []);
    });

    it('fetch takes the same way', async () => {
      const fake = fakeRsync([{ stdout: '' }]);
      const summary = await new RsyncSyncManager({ runProcess: fake.run }).fetch({ remote: fastRemote(), remoteDir: 'p', localDir: join(project, 'fetched') });
      assert.equal(summary.channel, 'fast');
      assert.equal(fake.calls[0]!.options?.env?.MLT_FAST_CLIENT_PROOF, 'secret-proof');
    });
  });
});
