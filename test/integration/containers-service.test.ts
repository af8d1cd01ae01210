import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../src/core/errors.ts';
import { createDockerContainerManager, type ContainerManager, type ContainerSpec } from '../../src/services/containers/index.ts';
import { freePort, useHarness, waitFor } from '../harness/index.ts';

/**
 * The Docker ContainerManager against the real engine, in-process. Everything
 * created carries the label mltoolbox.test=1 and this run's project prefix,
 * and is removed in after().
 */
describe('containers service (real Docker Engine)', async () => {
  const harness = await useHarness();
  const run = `mlt-ctest-${process.pid}`;
  const imageTag = `mltoolbox-test/containers-svc:${process.pid}`;
  const testLabels = { 'mltoolbox.test': '1' };
  let manager: ContainerManager;
  let workDir: string;

  const spec = (overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
    project: run,
    name: `${run}-dev`,
    image: imageTag,
    labels: testLabels,
    // Prints a marker (for logs), serves /www on 8000 in the foreground (keeps the container up).
    command: ['sh', '-c', 'echo container-started; echo "served by $GREETING" > /www/index.html; exec httpd -f -p 8000 -h /www'],
    env: { GREETING: 'busybox-httpd' },
    secretEnv: { API_TOKEN: 's3cr3t-value' },
    ports: [{ container: 8000 }],
    shmSize: '64m',
    ...overrides,
  });

  const hasCode = (code: string, check?: (error: UserError) => void) => (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.equal(error.code, code, `${error.message}\n${error.details.join('\n')}`);
    check?.(error);
    return true;
  };

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'mlt-ctest-'));
    manager = await createDockerContainerManager({ socketPath: harness.docker.socketPath, toolVersion: '0.0.0-test' });
  });

  after(async () => {
    const mine = (await manager.list({ labels: testLabels })).filter((c) => c.project?.startsWith(run));
    for (const container of mine) await manager.remove(container.id);
    for (const tag of [imageTag, `${imageTag}-broken`]) await manager.removeImage(tag, { force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('pings the engine', async () => {
    const info = await manager.ping();
    assert.match(info.version, /^\d+\.\d+/);
    assert.match(info.apiVersion, /^1\.\d+$/);
    assert.ok(info.runtimes.includes('runc'));
  });

  it('builds an image FROM the base image with a COPY, honouring .dockerignore', async () => {
    const context = join(workDir, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), `FROM ${harness.docker.baseImage}\nCOPY . /app/\nRUN mkdir -p /www && cat /app/hello.txt\n`);
    await writeFile(join(context, 'hello.txt'), 'hello from the build context\n');
    await writeFile(join(context, 'secret.env'), 'SHOULD_NOT_BE_SENT=1\n');
    await writeFile(join(context, '.dockerignore'), 'secret.env\n');
    const lines: string[] = [];
    const built = await manager.build({ context, tag: imageTag, labels: testLabels }, (line) => lines.push(line));
    assert.match(built.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(built.tag, imageTag);
    assert.ok(lines.includes('hello from the build context'), lines.join('\n'));
    assert.equal(await manager.imageId(imageTag), built.imageId);
  });

  it('a failing build step: IMAGE_BUILD_FAILED with the step and its last output', async () => {
    const context = join(workDir, 'broken');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), `FROM ${harness.docker.baseImage}\nRUN echo about-to-fail && exit 3\n`);
    await assert.rejects(manager.build({ context, tag: `${imageTag}-broken`, labels: testLabels }), hasCode('IMAGE_BUILD_FAILED', (e) => {
      assert.match(e.message, /returned a non-zero code: 3/);
      assert.match(e.message, /RUN echo about-to-fail/);
      assert.ok(e.details.includes('about-to-fail'), e.details.join('\n'));
    }));
  });

  let containerId = '';
  let hostPort = 0;

  it('ensureContainer creates, publishes on 127.0.0.1, and the port reaches httpd inside', async () => {
    const result = await manager.ensureContainer(spec());
    assert.equal(result.action, 'created');
    containerId = result.id;
    const published = result.ports.find((p) => p.container === 8000);
    assert.ok(published, JSON.stringify(result.ports));
    assert.equal(published.hostIp, '127.0.0.1');
    hostPort = published.host;
    let body = '';
    await waitFor('httpd to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${hostPort}/`);
      body = await response.text();
      return response.ok;
    }, 10_000);
    assert.equal(body, 'served by busybox-httpd\n');
  });

  it('a second ensureContainer reuses the same container', async () => {
    const result = await manager.ensureContainer(spec());
    assert.equal(result.action, 'reused');
    assert.equal(result.id, containerId);
  });

  it('exec returns output and exit codes; env and secret env are set; the COPY landed; .dockerignore kept a file out', async () => {
    const ok = await manager.exec(containerId, ['sh', '-c', 'echo "$GREETING/$API_TOKEN"; cat /app/hello.txt; echo to-stderr >&2']);
    assert.deepEqual(ok, { exitCode: 0, stdout: 'busybox-httpd/s3cr3t-value\nhello from the build context\n', stderr: 'to-stderr\n' });
    const failed = await manager.exec(containerId, ['sh', '-c', 'exit 7']);
    assert.equal(failed.exitCode, 7);
    const ignored = await manager.exec(containerId, ['test', '-e', '/app/secret.env']);
    assert.equal(ignored.exitCode, 1);
    const shm = await manager.exec(containerId, ['sh', '-c', "df -k /dev/shm | tail -1 | awk '{print $2}'"]);
    assert.equal(shm.stdout.trim(), String(64 * 1024));
  });

  it('exec passes stdin, user, workdir and per-exec env', async () => {
    const result = await manager.exec(containerId, ['sh', '-c', 'echo "$(id -un) $(pwd) $EXTRA"; cat'], { stdin: 'piped input\n', user: 'dev', workdir: '/tmp', env: { EXTRA: 'yes' } });
    assert.deepEqual(result, { exitCode: 0, stdout: 'dev /tmp yes\npiped input\n', stderr: '' });
  });

  it('startExec streams an interactive session', async () => {
    const session = await manager.startExec(containerId, ['sh'], { interactive: true });
    const chunks: Buffer[] = [];
    session.stdout.on('data', (d: Buffer) => chunks.push(d));
    session.stdin!.write('echo first\n');
    await waitFor('the first answer', async () => Buffer.concat(chunks).toString() === 'first\n', 5_000, 20);
    session.stdin!.end('echo second; exit 4\n');
    assert.deepEqual(await session.done, { exitCode: 4 });
    assert.equal(Buffer.concat(chunks).toString(), 'first\nsecond\n');
  });

  it('logs shows what the container printed', async () => {
    const chunks: string[] = [];
    await manager.logs(containerId, { tail: 50 }, (chunk) => chunks.push(`${chunk.stream}:${chunk.data.toString()}`));
    assert.ok(chunks.some((c) => c.startsWith('stdout:') && c.includes('container-started')), JSON.stringify(chunks));
  });

  it('labels let list({ project }) find it, and the secret is not in its labels', async () => {
    const listed = await manager.list({ project: run });
    assert.deepEqual(listed.map((c) => [c.id, c.state, c.labels['mltoolbox.test']]), [[containerId, 'running', '1']]);
    assert.doesNotMatch(JSON.stringify(listed), /s3cr3t/);
  });

  it('a changed spec recreates the container', async () => {
    const result = await manager.ensureContainer(spec({ env: { GREETING: 'changed' } }));
    assert.equal(result.action, 'recreated');
    assert.notEqual(result.id, containerId);
    assert.equal(await manager.inspect(containerId), undefined);
    containerId = result.id;
    assert.equal((await manager.exec(containerId, ['sh', '-c', 'echo $GREETING'])).stdout, 'changed\n');
  });

  it('stop, then ensureContainer starts it again; remove makes it gone', async () => {
    await manager.stop(containerId, { timeoutSeconds: 1 });
    assert.equal((await manager.inspect(containerId))?.running, false);
    const again = await manager.ensureContainer(spec({ env: { GREETING: 'changed' } }));
    assert.equal(again.action, 'started');
    assert.equal(again.id, containerId);
    await manager.remove(containerId);
    assert.equal(await manager.inspect(containerId), undefined);
    assert.deepEqual(await manager.list({ project: run }), []);
  });

  it('a busy host port: PORT_BUSY', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await assert.rejects(manager.ensureContainer(spec({ name: `${run}-busy`, ports: [{ container: 8000, host: port }] })), hasCode('PORT_BUSY', (e) => {
        assert.match(e.message, new RegExp(`port ${port}`));
      }));
      assert.equal(await manager.inspect(`${run}-busy`), undefined, 'the half-made container is removed');
    } finally {
      blocker.close();
    }
  });

  it('a container that exits at once: CONTAINER_EXITED with its last lines', async () => {
    await assert.rejects(manager.ensureContainer(spec({ name: `${run}-crash`, command: ['sh', '-c', 'echo about-to-crash; echo oops >&2; exit 3'], ports: [] })), hasCode('CONTAINER_EXITED', (e) => {
      assert.match(e.message, /exit code 3/);
      // stdout and stderr are logged separately: their relative order is not kept.
      assert.deepEqual([...e.details].sort(), ['about-to-crash', 'oops']);
    }));
  });

  it('an image that is not there: IMAGE_NOT_FOUND, never pulled', async () => {
    await assert.rejects(manager.ensureContainer(spec({ name: `${run}-noimg`, image: 'mltoolbox-test/does-not-exist:never' })), hasCode('IMAGE_NOT_FOUND'));
  });

  it('GPUs on an engine without the NVIDIA runtime: required fails with the fix, optional starts without', async (t) => {
    const info = await manager.ping();
    if (info.gpuReady) return t.skip('the engine is GPU-ready: nothing to prove here');
    await assert.rejects(manager.ensureContainer(spec({ name: `${run}-gpu`, gpus: { mode: 'required' }, ports: [] })), hasCode('GPU_RUNTIME_MISSING', (e) => {
      assert.match(e.details.join('\n'), /nvidia-ctk runtime configure --runtime=docker/);
    }));
    const optional = await manager.ensureContainer(spec({ name: `${run}-gpu`, gpus: { mode: 'optional', count: 'all' }, ports: [] }));
    assert.equal(optional.action, 'created');
    assert.match(optional.warnings.join('\n'), /without GPUs/);
    await manager.remove(optional.id);
  });

  it('a socket nobody listens on: DOCKER_UNREACHABLE', async () => {
    const nowhere = await createDockerContainerManager({ socketPath: join(workDir, 'no-such.sock'), toolVersion: '0.0.0-test' });
    await assert.rejects(nowhere.ping(), hasCode('DOCKER_UNREACHABLE'));
  });

  it('works through a local socket forwarded over SSH to the host engine', async () => {
    const socketPath = join(workDir, 'docker.sock');
    const ssh = spawn('ssh', ['-F', harness.ssh.sshConfigFile, '-o', 'ExitOnForwardFailure=yes', '-N', '-L', `${socketPath}:/var/run/docker.sock`, harness.ssh.alias], { stdio: ['ignore', 'ignore', 'pipe'] });
    let sshStderr = '';
    ssh.stderr.on('data', (d: Buffer) => (sshStderr += d.toString()));
    const killTimer = setTimeout(() => ssh.kill('SIGTERM'), 60_000); // bounded whatever happens
    try {
      await waitFor('the forwarded socket', async () => existsSync(socketPath) || ssh.exitCode !== null, 15_000, 50);
      assert.ok(existsSync(socketPath), `ssh exited (${ssh.exitCode}): ${sshStderr}`);
      const remote = await createDockerContainerManager({ socketPath, host: harness.ssh.alias, toolVersion: '0.0.0-test' });
      const info = await remote.ping();
      assert.match(info.version, /^\d+\.\d+/);
      const created = await remote.ensureContainer(spec({ name: `${run}-tunnel`, command: ['sleep', '300'], ports: [] }));
      assert.equal(created.action, 'created');
      const result = await remote.exec(created.id, ['sh', '-c', 'echo through-the-tunnel $API_TOKEN; exit 5']);
      assert.deepEqual(result, { exitCode: 5, stdout: 'through-the-tunnel s3cr3t-value\n', stderr: '' });
      assert.equal((await remote.ensureContainer(spec({ name: `${run}-tunnel`, command: ['sleep', '300'], ports: [] }))).action, 'reused');
      await remote.remove(created.id);
      assert.equal(await remote.inspect(created.id), undefined);
    } finally {
      clearTimeout(killTimer);
      if (ssh.exitCode === null) {
        const exited = new Promise((resolve) => ssh.once('exit', resolve));
        ssh.kill('SIGTERM');
        await exited;
      }
    }
  });
});
