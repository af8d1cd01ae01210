import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * datasync through the built binary with the real rclone: its local backend
 * (a `:local:` path and a named remote in a private rclone.conf), its sftp
 * backend against the harness sshd (loopback only), rclone run on the host
 * over ssh (the harness host is this machine), and inside a dev container.
 */
describe('datasync', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let project: string;
  let conf: string;
  const mlt = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runMltoolbox(['-C', project, ...args], { env: { ...sandbox.env, ...env }, cwd: sandbox.root, timeoutMs: 180_000 });
  const json = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await mlt([...args, '--json'], env);
    assert.equal(result.code, 0, `${args.join(' ')} failed:\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };

  before(async () => {
    sandbox = await createSandbox({ harness });
    project = sandbox.projectDir;
    await mkdir(join(project, 'data', 'sub'), { recursive: true });
    await writeFile(join(project, 'data', 'a.txt'), 'alpha\n');
    await writeFile(join(project, 'data', 'sub', 'b.bin'), 'x'.repeat(50_000));
    await writeFile(join(project, 'data', 'scratch.tmp'), 'not copied');
    conf = sandbox.path('rclone.conf');
    await writeFile(conf, [
      '[store]', 'type = local', '',
      '[h]', 'type = sftp', 'host = 127.0.0.1', `port = ${harness.ssh.port}`, `user = ${harness.ssh.user}`,
      `key_file = ${harness.ssh.identityFile}`, `known_hosts_file = ${harness.ssh.knownHostsFile}`, 'shell_type = unix', 'disable_hashcheck = true', '',
    ].join('\n'), { mode: 0o600 });
  });

  it('dry run lists what would be copied (excludes applied) and copies nothing', async () => {
    const target = sandbox.path('dry');
    const result = await json(['datasync', 'up', '-r', `:local:${target}`, '-e', '*.tmp', '--dry-run']);
    assert.equal(result.mode, 'local');
    assert.equal(result.dryRun, true);
    assert.deepEqual([...result.changes].sort(), ['a.txt', 'sub/b.bin']);
    assert.equal(existsSync(target), false);
  });

  it('up and down through a named remote from RCLONE_CONFIG, with rclone options', async () => {
    const env = { RCLONE_CONFIG: conf };
    const bucket = sandbox.path('bucket');
    const up = await mlt(['datasync', 'up', '-r', `store:${bucket}`, '-p', 'proj', '-e', '*.tmp', '--transfers', '2', '--checkers', '4', '--chunk-size', '8M', '--cutoff', '100M'], env);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /2 file\(s\) copied/);
    assert.equal(readFileSync(join(bucket, 'proj', 'a.txt'), 'utf8'), 'alpha\n');
    assert.equal(existsSync(join(bucket, 'proj', 'scratch.tmp')), false);

    const down = await json(['datasync', 'down', '-r', `store:${bucket}`, '-p', 'proj', '-l', 'restored'], env);
    assert.equal(down.filesTransferred, 2);
    assert.equal(readFileSync(join(project, 'restored', 'sub', 'b.bin'), 'utf8').length, 50_000);
  });

  it('sftp backend against the harness sshd', async () => {
    const remoteDir = sandbox.path('over-sftp');
    const result = await json(['datasync', 'up', '-r', `h:${remoteDir}`, '-e', '*.tmp', '--rclone-config', conf]);
    assert.equal(result.filesTransferred, 2);
    assert.equal(readFileSync(join(remoteDir, 'a.txt'), 'utf8'), 'alpha\n');
  });

  it('a bad remote is DATASYNC_FAILED quoting rclone; bad options are USAGE', async () => {
    const bad = await mlt(['datasync', 'up', '-r', 'nosuchremote:x', '--json'], { RCLONE_CONFIG: conf });
    assert.equal(bad.code, 6);
    const envelope = JSON.parse(bad.stdout);
    assert.equal(envelope.error.code, 'DATASYNC_FAILED');
    assert.match(envelope.error.message, /nosuchremote|section/);
    const missing = await mlt(['datasync', 'down']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /-r REMOTE:PATH/);
    assert.equal((await mlt(['datasync', 'up', '-r', 'a:b', '--transfers', 'many'])).code, 2);
    assert.equal((await mlt(['datasync', 'up', '-r', 'a:b', '--mode', 'moon'])).code, 2);
  });

  it('--mode host runs rclone on the host over ssh, in the project folder there', async () => {
    const sync = await mlt(['sync', host]);
    assert.equal(sync.code, 0, sync.stderr);
    const fromHost = sandbox.path('from-host');
    const up = await json(['datasync', 'up', host, '-r', `store:${fromHost}`, '--rclone-config', conf, '-e', '*.tmp']);
    assert.equal(up.mode, 'host');
    assert.equal(up.where, host);
    assert.equal(readFileSync(join(fromHost, 'a.txt'), 'utf8'), 'alpha\n');
    const down = await json(['datasync', 'down', host, '--mode', 'host', '-r', `store:${fromHost}`, '-l', 'pulled', '--rclone-config', conf]);
    assert.match(down.destination, /\/pulled$/);
    assert.equal(readFileSync(join(down.destination, 'a.txt'), 'utf8'), 'alpha\n');
  });

  describe('--mode container', () => {
    before(async () => {
      // The offline test image is plain busybox: lend it this machine's rclone and the C library it links.
      const libs = execFileSync('ldd', ['/usr/bin/rclone'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
      const dirs = [...new Set(libs.map((l) => dirname(l)))];
      await writeFile(join(project, 'mltoolbox.yaml'), [
        'version: 1',
        'project:',
        '  name: datasync-test',
        'environment:',
        `  base_image: ${harness.docker.baseImage}`,
        '  gpus: none',
        '  volumes:',
        '    - /usr/bin/rclone:/usr/local/bin/rclone:ro',
        ...dirs.map((d) => `    - ${d}:${d}:ro`),
        '',
      ].join('\n'));
      const connect = await mlt(['connect', 'local', '--no-attach']);
      assert.equal(connect.code, 0, connect.stderr);
    });

    after(async () => {
      await mlt(['down', 'local']);
    });

    it('runs rclone inside the dev container, paths relative to its workdir', async () => {
      const result = await json(['datasync', 'up', 'local', '--mode', 'container', '-r', ':local:/workspace/in-container', '-e', '*.tmp']);
      assert.equal(result.mode, 'container');
      assert.equal(result.source, '/workspace/data');
      assert.equal(readFileSync(join(project, 'in-container', 'sub', 'b.bin'), 'utf8').length, 50_000);
    });

    it('--container-name naming no running container is a clear error', async () => {
      const result = await mlt(['datasync', 'up', 'local', '--mode', 'container', '--container-name', 'no-such-container-x', '-r', ':local:/tmp/x', '--json']);
      assert.equal(result.code, 1);
      assert.equal(JSON.parse(result.stdout).error.code, 'CONTAINER_NOT_RUNNING');
    });

    it('rclone missing in the container is RCLONE_NOT_FOUND', async () => {
      // Another container from the same image, without the borrowed rclone.
      const name = `mlt-ds-norclone-${process.pid}`;
      execFileSync('docker', ['run', '-d', '--name', name, harness.docker.baseImage, 'sleep', '300'], { env: { ...process.env, DOCKER_HOST: `unix://${harness.docker.socketPath}` } });
      try {
        const result = await mlt(['datasync', 'up', 'local', '--mode', 'container', '--container-name', name, '-r', ':local:/tmp/x', '--json']);
        assert.equal(result.code, 1, result.stderr);
        assert.equal(JSON.parse(result.stdout).error.code, 'RCLONE_NOT_FOUND');
      } finally {
        execFileSync('docker', ['rm', '-f', name], { env: { ...process.env, DOCKER_HOST: `unix://${harness.docker.socketPath}` } });
      }
    });
  });
});
