import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { quoteRsyncArg } from '../../src/services/ssh/rsync-quote.ts';
import { RsyncSyncManager, type RemoteShell, type SyncProgress, type WatchEvent } from '../../src/services/sync/index.ts';
import { useHarness } from '../harness/index.ts';

/**
 * The sync service in-process against the harness sshd: real rsync over
 * real ssh. The "host" is this machine, so the remote side is checked
 * through the file system directly.
 */
describe('sync service (rsync over ssh)', async () => {
  const harness = await useHarness();
  const remote: RemoteShell = { rsh: `ssh -F ${quoteRsyncArg(harness.ssh.sshConfigFile)}`, destination: harness.ssh.alias };
  const sync = new RsyncSyncManager();
  let root: string;
  let local: string;
  let remoteDir: string;
  const rules = { exclude: ['scratch/'] };

  function write(path: string, text: string): void {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'mlt-sync-it-'));
    local = join(root, 'project');
    remoteDir = join(root, 'host', 'projects', 'demo');
    write(join(local, 'train.py'), 'print("train")\n');
    write(join(local, 'src', 'model.py'), 'class Model: ...\n');
    write(join(local, 'src', 'weights.bin'), 'w'.repeat(200_000));
    write(join(local, '.gitignore'), 'data/\n*.log\n');
    write(join(local, 'src', '.gitignore'), 'generated/\n');
    write(join(local, 'src', 'generated', 'g.py'), 'nested ignore\n');
    write(join(local, 'data', 'big.bin'), 'ignored\n');
    write(join(local, 'train.log'), 'ignored\n');
    write(join(local, 'scratch', 'notes.txt'), 'excluded by config\n');
    write(join(local, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const onHost = (path: string) => join(remoteDir, path);

  it('the first push copies everything that is not ignored or excluded, with progress', async () => {
    const progress: SyncProgress[] = [];
    const summary = await sync.push({ remote, localDir: local, remoteDir, rules, onProgress: (p) => progress.push(p) });
    assert.equal(readFileSync(onHost('train.py'), 'utf8'), 'print("train")\n');
    assert.equal(readFileSync(onHost('src/weights.bin'), 'utf8').length, 200_000);
    assert.ok(existsSync(onHost('.gitignore')));
    for (const skipped of ['data', 'train.log', 'scratch', '.git', 'src/generated']) assert.ok(!existsSync(onHost(skipped)), `${skipped} must not be copied`);
    assert.equal(summary.filesTransferred, 5);
    assert.ok(summary.changes.added.includes('src/model.py'));
    assert.ok(progress.length > 0 && progress.at(-1)!.percent === 100);
  });

  it('a second push after one edit transfers exactly that file', async () => {
    write(join(local, 'train.py'), 'print("train harder")\n');
    const summary = await sync.push({ remote, localDir: local, remoteDir, rules });
    assert.equal(summary.filesTransferred, 1);
    assert.deepEqual(summary.changes, { added: [], changed: ['train.py'], deleted: [] });
    assert.equal(readFileSync(onHost('train.py'), 'utf8'), 'print("train harder")\n');
  });

  it('deletes what is gone locally, but never host-only outputs or ignored files', async () => {
    write(onHost('outputs/run1/metrics.json'), '{"loss": 0.1}\n');
    write(onHost('checkpoints/epoch1.ckpt'), 'ckpt\n');
    write(onHost('data/host-dataset.bin'), 'only on the host\n');
    write(onHost('wandb.log'), 'ignored by *.log\n');
    write(onHost('stale.py'), 'deleted locally\n');
    const summary = await sync.push({ remote, localDir: local, remoteDir, rules });
    assert.deepEqual(summary.changes.deleted, ['stale.py']);
    for (const kept of ['outputs/run1/metrics.json', 'checkpoints/epoch1.ckpt', 'data/host-dataset.bin', 'wandb.log']) assert.ok(existsSync(onHost(kept)), `${kept} must survive`);
  });

  it('a path ignored for the first time in this very push is kept on the host, and deletion still works', async () => {
    const project = join(root, 'newly-ignored');
    const host = join(root, 'host', 'projects', 'newly-ignored');
    write(join(project, 'train.py'), 'train\n');
    write(join(project, 'old.py'), 'soon deleted locally\n');
    write(join(project, '.gitignore'), '*.log\n');
    await sync.push({ remote, localDir: project, remoteDir: host });
    write(join(host, 'data', 'x.bin'), 'host-only dataset\n');
    write(join(host, 'src', 'cache', 'c.bin'), 'host-only cache\n');
    write(join(host, 'outputs', 'run', 'm.json'), '{}\n');
    // One push: the .gitignore files that ignore data/ and src/cache/ arrive together with the deletions.
    write(join(project, '.gitignore'), '*.log\ndata/\n');
    write(join(project, 'src', '.gitignore'), '/cache/\n');
    rmSync(join(project, 'old.py'));
    const summary = await sync.push({ remote, localDir: project, remoteDir: host });
    for (const kept of ['data/x.bin', 'src/cache/c.bin', 'outputs/run/m.json']) assert.ok(existsSync(join(host, kept)), `${kept} must survive`);
    assert.deepEqual(summary.changes.deleted, ['old.py']);
    assert.ok(!existsSync(join(host, 'old.py')));
    assert.equal(readFileSync(join(host, '.gitignore'), 'utf8'), '*.log\ndata/\n');
  });

  it('fetch brings outputs back, never deleting or overwriting newer local files', async () => {
    write(join(local, 'outputs', 'local-only.txt'), 'mine\n');
    const summary = await sync.fetch({ remote, remoteDir, localDir: local, paths: ['outputs/'] });
    assert.equal(readFileSync(join(local, 'outputs', 'run1', 'metrics.json'), 'utf8'), '{"loss": 0.1}\n');
    assert.ok(existsSync(join(local, 'outputs', 'local-only.txt')));
    assert.ok(summary.changes.added.includes('outputs/run1/metrics.json'));
    await sleep(1100); // mtime granularity: make the local edit clearly newer
    write(join(local, 'outputs', 'run1', 'metrics.json'), 'edited locally\n');
    await sync.fetch({ remote, remoteDir, localDir: local, paths: ['outputs'] });
    assert.equal(readFileSync(join(local, 'outputs', 'run1', 'metrics.json'), 'utf8'), 'edited locally\n');
    rmSync(join(local, 'outputs'), { recursive: true });
  });

  it('fetching a path the host does not have is SYNC_PATH_NOT_FOUND', async () => {
    await assert.rejects(sync.fetch({ remote, remoteDir, localDir: local, paths: ['no-such-folder'] }), { code: 'SYNC_PATH_NOT_FOUND' });
  });

  it('a dry run lists the changes and changes nothing', async () => {
    write(join(local, 'new.py'), 'new\n');
    write(join(local, 'src', 'model.py'), 'class Model:\n    pass\n');
    rmSync(onHost('checkpoints'), { recursive: true });
    write(onHost('leftover.py'), 'would be deleted\n');
    const summary = await sync.push({ remote, localDir: local, remoteDir, rules, dryRun: true });
    assert.equal(summary.dryRun, true);
    assert.deepEqual(summary.changes, { added: ['new.py'], changed: ['src/model.py'], deleted: ['leftover.py'] });
    assert.ok(!existsSync(onHost('new.py')));
    assert.ok(existsSync(onHost('leftover.py')));
    assert.equal(readFileSync(onHost('src/model.py'), 'utf8'), 'class Model: ...\n');
  });

  it('a hostile remote path is just a name: nothing in it runs', async () => {
    const pwned = '/tmp/pwned';
    rmSync(pwned, { force: true });
    const hostile = "/tmp/mlt sync 'q' $(touch /tmp/pwned)";
    // The '/' inside "$(touch /tmp/pwned)" makes this two nested folders: clean up from the top one.
    const created = hostile.split('/').slice(0, 3).join('/');
    rmSync(created, { recursive: true, force: true });
    try {
      await sync.push({ remote, localDir: local, remoteDir: hostile, rules });
      assert.ok(existsSync(join(hostile, 'train.py')));
      await sync.push({ remote, localDir: local, remoteDir: hostile, rules, dryRun: true });
      await sync.fetch({ remote, remoteDir: hostile, localDir: join(root, 'fetched'), paths: ['src'] });
      assert.ok(existsSync(join(root, 'fetched', 'src', 'model.py')));
      assert.ok(!existsSync(pwned), '$(...) in the path was executed');
    } finally {
      rmSync(created, { recursive: true, force: true });
    }
  });

  it('an unsafe remote folder is refused before anything runs', async () => {
    await assert.rejects(sync.push({ remote, localDir: local, remoteDir: '~' }), { code: 'SYNC_UNSAFE_REMOTE_DIR' });
  });

  it('a wrong port is SYNC_CONNECTION_FAILED', async () => {
    await assert.rejects(sync.push({ remote: { ...remote, rsh: `${remote.rsh} -p 1` }, localDir: local, remoteDir }), { code: 'SYNC_CONNECTION_FAILED' });
  });

  it('two saves of the same size within one second both reach the host (nanosecond times)', async () => {
    // Same size, mtimes 0.5 s apart inside one whole second: rsync's default quick check calls that unchanged.
    const second = Math.floor(Date.now() / 1000) - 60;
    write(join(local, 'token.txt'), 'AAAA');
    utimesSync(join(local, 'token.txt'), second + 0.1, second + 0.1);
    await sync.push({ remote, localDir: local, remoteDir, rules });
    write(join(local, 'token.txt'), 'BBBB');
    utimesSync(join(local, 'token.txt'), second + 0.6, second + 0.6);
    const summary = await sync.push({ remote, localDir: local, remoteDir, rules });
    assert.equal(summary.filesTransferred, 1);
    assert.equal(readFileSync(onHost('token.txt'), 'utf8'), 'BBBB');
  });

  // Latency is measured by bench/watch.ts (p95 < 300 ms); this bound only proves the save is pushed without
  // another command, and is loose enough for a loaded 2-core CI machine.
  it('watch: a saved file appears on the host without another command', async () => {
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const done = sync.watch({ remote, localDir: local, remoteDir, rules, signal: controller.signal }, (event) => events.push(event));
    try {
      const deadline = Date.now() + 10_000;
      while (!events.some((e) => e.type === 'sync-complete')) {
        assert.ok(Date.now() < deadline, `initial push did not finish: ${JSON.stringify(events)}`);
        await sleep(20);
      }
      const saved = Date.now();
      write(join(local, 'src', 'model.py'), 'class Model:\n    watched = True\n');
      while (!readFileSync(onHost('src/model.py'), 'utf8').includes('watched')) {
        assert.ok(Date.now() - saved < 15_000, `not synced within 15 s: ${JSON.stringify(events)}`);
        await sleep(20);
      }
    } finally {
      controller.abort();
      await done;
    }
    assert.equal(events.at(-1)?.type, 'stopped');
  });
});
