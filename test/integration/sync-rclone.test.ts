import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * `sync.strategy: rclone` through the built binary: the real rclone (its
 * sftp backend) against the harness sshd on loopback, with the host, port,
 * user, key and known_hosts resolved from the same ssh config the connection
 * uses. The same rules as rsync: excludes, .gitignore, .git, protected
 * folders; deletions only inside the project folder.
 */
describe('sync with sync.strategy: rclone', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let project: string;
  let remoteDir: string;
  const HOSTILE = `-rf $(touch pwned) 'q' "dq" \\ #x;.txt`;
  const mlt = (args: string[]) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 120_000 });
  const sync = async (...extra: string[]) => {
    const result = await mlt(['sync', host, '--json', ...extra]);
    assert.equal(result.code, 0, `sync failed:\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const onHost = async (script: string) => {
    const result = await run('ssh', ['-F', harness.ssh.sshConfigFile, host, script], { timeoutMs: 20_000 });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  /** Every file under the project folder on the host, sorted. */
  const hostFiles = async () => (await onHost(`cd ${remoteDir} && find . -type f | sed 's|^\\./||' | LC_ALL=C sort`)).split('\n').filter(Boolean);

  before(async () => {
    sandbox = await createSandbox({ harness });
    project = sandbox.projectDir;
    await writeFile(join(project, 'mltoolbox.yaml'), ['version: 1', 'sync:', '  strategy: rclone', '  exclude:', '    - "*.log"', ''].join('\n'));
    await mkdir(join(project, 'src', 'deep'), { recursive: true });
    await mkdir(join(project, '.git'), { recursive: true });
    await mkdir(join(project, 'gone'), { recursive: true });
    await writeFile(join(project, 'src', 'train.py'), 'print(1)\n');
    await writeFile(join(project, 'src', 'deep', 'model.py'), 'x = 2\n');
    await writeFile(join(project, 'gone', 'old.txt'), 'old\n');
    await writeFile(join(project, 'a.txt'), 'a\n');
    await writeFile(join(project, 'debug.log'), 'excluded\n');
    await writeFile(join(project, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(project, '.gitignore'), 'secret.txt\ncache/\n');
    await writeFile(join(project, 'secret.txt'), 'ignored\n');
    await writeFile(join(project, HOSTILE), 'hostile\n');
    await writeFile(join(project, ' leading space.txt'), 'space\n');
  });

  after(async () => {
    if (remoteDir) await onHost(`rm -rf ${remoteDir} ${remoteDir}-sibling ${remoteDir}-outside`).catch(() => {});
  });

  it('copies the project with the rules rsync uses (exclude, .gitignore, .git) and hostile names intact', async () => {
    const result = await sync();
    remoteDir = result.remoteDir;
    assert.deepEqual(await hostFiles(), [' leading space.txt', HOSTILE, '.gitignore', 'a.txt', 'gone/old.txt', 'mltoolbox.yaml', 'src/deep/model.py', 'src/train.py'].sort());
    assert.equal(result.summary.filesTransferred, 8);
    assert.equal(await onHost(`cat ${remoteDir}/src/train.py`), 'print(1)\n');
    assert.equal(await onHost(`cat "${remoteDir}"/*touch*`), 'hostile\n');
    assert.equal(existsSync(join(project, 'pwned')), false);
    assert.equal(existsSync(join(sandbox.root, 'pwned')), false);
  });

  it('a second sync copies and deletes nothing', async () => {
    const result = await sync();
    assert.equal(result.summary.filesTransferred, 0);
    assert.equal(result.summary.deleted, 0);
  });

  it('deletes inside the project folder only what is gone locally; protected, excluded and ignored host files and anything outside stay', async () => {
    await onHost([
      `cd ${remoteDir}`,
      'mkdir -p outputs cache ../$(basename $PWD)-sibling',
      'echo m > outputs/metrics.txt', 'echo c > cache/blob', 'echo l > host.log', 'echo s > secret.txt', 'echo k > ../$(basename $PWD)-sibling/keep.txt',
      'echo stray > stray.txt',
    ].join(' && '));
    await rm(join(project, 'gone'), { recursive: true });
    await rm(join(project, 'a.txt'));
    await writeFile(join(project, 'src', 'train.py'), 'print(2)\n');

    const dry = await sync('--dry-run');
    assert.deepEqual([...dry.summary.changes.deleted].sort(), ['a.txt', 'gone/', 'gone/old.txt', 'stray.txt']);
    assert.deepEqual(dry.summary.changes.changed, ['src/train.py']);
    assert.ok((await hostFiles()).includes('a.txt'), 'a dry run changes nothing');

    const result = await sync();
    assert.equal(result.summary.filesTransferred, 1);
    assert.deepEqual(await hostFiles(), [' leading space.txt', HOSTILE, '.gitignore', 'cache/blob', 'host.log', 'mltoolbox.yaml', 'outputs/metrics.txt', 'secret.txt', 'src/deep/model.py', 'src/train.py'].sort());
    assert.equal(await onHost(`cat ${remoteDir}/src/train.py`), 'print(2)\n');
    assert.equal(await onHost(`cat ${remoteDir}-sibling/keep.txt`), 'k\n');
    assert.equal(await onHost(`test -d ${remoteDir}/gone && echo yes || echo no`), 'no\n');
  });

  it('a symlink on the host to a folder outside the project is never followed: nothing out there is deleted', async () => {
    await onHost([
      `cd ${remoteDir}`,
      'mkdir -p ../$(basename $PWD)-outside/deep', 'echo o > ../$(basename $PWD)-outside/precious.txt', 'echo d > ../$(basename $PWD)-outside/deep/data.bin',
      'ln -s ../$(basename $PWD)-outside linked', 'ln -s ../$(basename $PWD)-outside src/through',
    ].join(' && '));
    // The project has neither `linked` nor `src/through`: a push deletes what is gone locally, but never through a link.
    const result = await sync();
    const outside = `${remoteDir}-outside`;
    assert.equal(await onHost(`cat ${outside}/precious.txt ${outside}/deep/data.bin`), 'o\nd\n', 'the files behind the links are all there');
    assert.ok(!result.summary.changes.deleted.some((path: string) => path.startsWith('linked/') || path.startsWith('src/through/')), result.summary.changes.deleted.join(', '));
    await onHost(`rm -f ${remoteDir}/linked ${remoteDir}/src/through`);
  });

  it('a symlink on the host where the project has a file or folder is never written through (its target is outside the project)', async () => {
    await onHost([
      `cd ${remoteDir}`, 'echo shared > ../$(basename $PWD)-shared.txt', 'ln -s ../$(basename $PWD)-shared.txt cfg.txt',
      'mkdir -p ../$(basename $PWD)-outside2', 'ln -s ../$(basename $PWD)-outside2 linked2',
    ].join(' && '));
    await writeFile(join(project, 'cfg.txt'), 'mine\n');
    await mkdir(join(project, 'linked2'), { recursive: true });
    await writeFile(join(project, 'linked2', 'new.txt'), 'n\n');
    await writeFile(join(project, 'fresh.txt'), 'f\n');
    const result = await sync();
    assert.equal(await onHost(`cat ${remoteDir}-shared.txt`), 'shared\n', 'the file behind the link is untouched');
    assert.equal(await onHost(`ls -A ${remoteDir}-outside2 | wc -l`), '0\n', 'nothing written into the linked folder');
    assert.equal(await onHost(`cat ${remoteDir}/fresh.txt`), 'f\n');
    assert.ok(result.summary.warnings.some((w: string) => w.includes('"cfg.txt"') && w.includes('"linked2"')), result.summary.warnings.join('\n'));
    await rm(join(project, 'cfg.txt'));
    await rm(join(project, 'fresh.txt'));
    await rm(join(project, 'linked2'), { recursive: true });
    await onHost(`rm -rf ${remoteDir}/cfg.txt ${remoteDir}/linked2 ${remoteDir}/fresh.txt ${remoteDir}-shared.txt ${remoteDir}-outside2`);
  });

  it('fetch brings host files back with rclone', async () => {
    const result = await mlt(['fetch', host, 'outputs', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(project, 'outputs', 'metrics.txt'), 'utf8'), 'm\n');
  });

  it('a host behind a ProxyJump is refused with a hint to use rsync', async () => {
    const config = sandbox.path('proxy_config');
    // A working ProxyCommand (through the same sshd), first: ssh takes the first value it reads.
    await writeFile(config, `Host ${host}\n  ProxyCommand ssh -F ${harness.ssh.sshConfigFile} -W %h:%p ${host}\n${await readFile(harness.ssh.sshConfigFile, 'utf8')}`);
    const result = await runMltoolbox(['-C', project, 'sync', host, '--json'], { env: { ...sandbox.env, MLTOOLBOX_SSH_CONFIG: config }, cwd: sandbox.root, timeoutMs: 60_000 });
    assert.equal(result.code, 1, result.stderr);
    const envelope = JSON.parse(result.stdout);
    assert.equal(envelope.error.code, 'SYNC_RCLONE_UNSUPPORTED');
    assert.match(envelope.error.hint, /sync\.strategy: rsync/);
  });
});
