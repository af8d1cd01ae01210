import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ProcessResult, ProcessRunner, RunProcessOptions } from '../../../../src/infrastructure/process.ts';
import { treeDigest } from '../../../../src/core/tree-digest.ts';
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

  describe('a push with nothing to do (push records and the host\'s tree digest)', () => {
    /** A project and its copy as rsync -rlpt would leave it on the host (cp -a keeps nanosecond times). */
    const setup = () => {
      const root = mkdtempSync(join(tmpdir(), 'mlt-sync-record-'));
      const local = join(root, 'local');
      mkdirSync(join(local, 'd'), { recursive: true });
      writeFileSync(join(local, 'a.txt'), 'a\n');
      writeFileSync(join(local, 'd', 'b.txt'), 'b\n');
      const host = join(root, 'host');
      execFileSync('cp', ['-a', local, host]);
      const asked: string[] = [];
      const fast = { rsh: 'bash fast-rsh.bash 4000 1 ssh', env: () => ({}), forget: () => undefined,
        treeDigest: async (remoteDir: string, entries: readonly string[]) => (asked.push(remoteDir), treeDigest(host, entries)) };
      const manager = (fake: ReturnType<typeof fakeRsync>) => new RsyncSyncManager({ runProcess: fake.run, pushRecordDir: join(root, 'records') });
      const listing = ['./', 'a.txt', 'd/', 'd/b.txt'].map((name) => `MLT-ITEM .${name.endsWith('/') ? 'd' : 'f'}          ${name}`).join('\n');
      const push = (fake: ReturnType<typeof fakeRsync>, extra: Partial<Parameters<RsyncSyncManager['push']>[0]> = {}) =>
        manager(fake).push({ remote: { ...remote, fast: () => fast }, localDir: local, remoteDir: 'p', ...extra });
      after(() => rmSync(root, { recursive: true, force: true }));
      return { local, host, asked, listing, push, records: join(root, 'records') };
    };

    it('lists every path (-ii) on the run that makes the record; the next push compares digests and does not run rsync', async () => {
      const t = setup();
      const first = fakeRsync([{ stdout: t.listing }]);
      const summary = await t.push(first);
      assert.equal(summary.unchanged, undefined);
      assert.equal(first.calls[0]!.args.filter((a) => a === '--itemize-changes').length, 2);
      const second = fakeRsync([]);
      const skipped = await t.push(second);
      assert.equal(second.calls.length, 0, 'rsync did not run');
      assert.deepEqual([skipped.unchanged, skipped.channel, skipped.filesTransferred], [true, 'fast', 0]);
      assert.deepEqual(t.asked, ['p']);
    });

    for (const [what, change] of [
      ['a local file is edited (same size)', (t: ReturnType<typeof setup>) => writeFileSync(join(t.local, 'a.txt'), 'A\n')],
      ['a local file is added in a listed folder', (t: ReturnType<typeof setup>) => writeFileSync(join(t.local, 'd', 'new.txt'), 'n')],
      ['a local file is removed', (t: ReturnType<typeof setup>) => rmSync(join(t.local, 'd', 'b.txt'))],
      ['a host file is edited', (t: ReturnType<typeof setup>) => writeFileSync(join(t.host, 'd', 'b.txt'), 'x\n')],
      ['a host file is added', (t: ReturnType<typeof setup>) => writeFileSync(join(t.host, 'd', 'extra'), '')],
      ['a host file changes permissions', (t: ReturnType<typeof setup>) => chmodSync(join(t.host, 'a.txt'), 0o600)],
    ] as const) {
      it(`runs rsync when ${what}`, async () => {
        const t = setup();
        await t.push(fakeRsync([{ stdout: t.listing }]));
        change(t);
        const again = fakeRsync([{ stdout: t.listing }]);
        const summary = await t.push(again);
        assert.equal(again.calls.length, 1);
        assert.equal(summary.unchanged, undefined);
      });
    }

    it('a push for a change a watch saw runs rsync without asking the host first or listing every path; the next sync runs rsync', async () => {
      const t = setup();
      await t.push(fakeRsync([{ stdout: t.listing }]));
      const watched = fakeRsync([{ stdout: t.listing }]);
      await t.push(watched, { knownChanged: true });
      assert.equal(watched.calls.length, 1);
      assert.ok(!watched.calls[0]!.args.includes('--itemize-changes'));
      assert.deepEqual(t.asked, [], 'the host was not asked for a digest');
      const next = fakeRsync([{ stdout: t.listing }]);
      await t.push(next);
      assert.equal(next.calls.length, 1, 'the watch\'s push dropped the record it made stale');
      assert.equal((await t.push(fakeRsync([]))).unchanged, true);
    });

    it('a push that does not keep a record (no digest question) still drops the one it makes stale', async () => {
      const t = setup();
      await t.push(fakeRsync([{ stdout: t.listing }]));
      await new RsyncSyncManager({ runProcess: fakeRsync([{}]).run, pushRecordDir: t.records }).push({ remote, localDir: t.local, remoteDir: 'p' });
      const again = fakeRsync([{ stdout: t.listing }]);
      await t.push(again);
      assert.equal(again.calls.length, 1, 'the ssh-only push dropped the record');
    });

    it('a local folder changed since the record was made means rsync (an entry copied to both sides by other means)', async () => {
      const t = setup();
      await t.push(fakeRsync([{ stdout: t.listing }]));
      // A new folder in both copies, with the parent's time made equal again (as a hand-run rsync -a would leave it).
      for (const side of [t.local, t.host]) mkdirSync(join(side, 'other'));
      execFileSync('touch', ['-r', t.local, t.host]);
      const again = fakeRsync([{ stdout: t.listing }]);
      await t.push(again);
      assert.equal(again.calls.length, 1);
    });

    it('runs rsync when the rules change (a new exclude), and never skips a dry run', async () => {
      const t = setup();
      await t.push(fakeRsync([{ stdout: t.listing }]));
      const excluded = fakeRsync([{ stdout: t.listing }]);
      await t.push(excluded, { rules: { exclude: ['*.bin'] } });
      assert.equal(excluded.calls.length, 1);
      const dry = fakeRsync([{ stdout: '' }]);
      await t.push(dry, { dryRun: true });
      assert.equal(dry.calls.length, 1);
      assert.ok(!dry.calls[0]!.args.includes('--itemize-changes'), 'a dry run lists nothing for a record');
    });

    it('a failed or partial rsync run leaves no record (the next push runs rsync again)', async () => {
      const t = setup();
      await t.push(fakeRsync([{ stdout: t.listing }]));
      writeFileSync(join(t.local, 'a.txt'), 'changed\n');
      await assert.rejects(t.push(fakeRsync([{ code: 23, stderr: 'rsync error: some files could not be transferred (code 23)\n' }])));
      await t.push(fakeRsync([{ code: 24, stdout: t.listing }]));
      execFileSync('cp', ['-a', `${t.local}/.`, t.host]);
      const again = fakeRsync([{ stdout: t.listing }]);
      await t.push(again);
      assert.equal(again.calls.length, 1, 'no record survived the failed and the partial run');
    });

    it('a host that cannot answer the digest (an older server, or an error) means rsync, not a skip', async () => {
      const t = setup();
      await t.push(fakeRsync([{ stdout: t.listing }]));
      const fake = fakeRsync([{ stdout: t.listing }]);
      const summary = await new RsyncSyncManager({ runProcess: fake.run, pushRecordDir: t.records }).push({
        remote: { ...remote, fast: () => ({ rsh: 'x', env: () => ({}), forget: () => undefined, treeDigest: async () => undefined }) }, localDir: t.local, remoteDir: 'p',
      });
      assert.equal(fake.calls.length, 1);
      assert.equal(summary.unchanged, undefined);
      const old = fakeRsync([{ stdout: t.listing }]);
      await new RsyncSyncManager({ runProcess: old.run, pushRecordDir: t.records }).push({ remote: { ...remote, fast: () => ({ rsh: 'x', env: () => ({}), forget: () => undefined }) }, localDir: t.local, remoteDir: 'p' });
      assert.ok(!old.calls[0]!.args.includes('--itemize-changes'), 'without the digest question nothing is listed');
    });
  });
});
