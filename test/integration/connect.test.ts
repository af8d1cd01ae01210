import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { joinShellCommand } from '../../src/core/shell-quote.ts';
import { createSandbox, freePort, run, runMltoolbox, runOk, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * The main job end to end, through the built binary, against the harness's
 * real sshd, rsync and Docker Engine: a project with a Dockerfile FROM the
 * offline test image, in a folder whose name a shell would choke on.
 */
describe('connect', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let project: string;
  const host = harness.ssh.alias;
  const mlt = (args: string[], input?: string) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, ...(input !== undefined ? { input } : {}), timeoutMs: 180_000 });
  const json = async (args: string[]) => {
    const result = await mlt([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')} failed:\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };

  before(async () => {
    sandbox = await createSandbox({ harness });
    project = join(sandbox.root, `my proj 'q' $(touch pwned)`);
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'Dockerfile'), `FROM ${harness.docker.baseImage}\nRUN echo built > /built.txt\n`);
    await writeFile(join(project, 'src', 'train.py'), 'print("hello")\n');
    await writeFile(join(project, '.gitignore'), 'secret-data/\n');
    await mkdir(join(project, 'secret-data'));
    await writeFile(join(project, 'secret-data', 'big.bin'), 'x'.repeat(1000));
    await writeFile(join(project, 'mltoolbox.yaml'), [
      'version: 1',
      'project:',
      '  name: hostile.name',
      'environment:',
      '  dockerfile:',
      '    path: Dockerfile',
      '  env:',
      '    GREETING: hello from config',
      '  gpus: optional',
      '',
    ].join('\n'));
  });

  after(async () => {
    await mlt(['down', host]);
  });

  it('connect --no-attach builds, syncs and starts the container; the files are inside', async () => {
    const result = await json(['connect', host, '--no-attach']);
    assert.equal(result.imageAction, 'built');
    assert.equal(result.container.action, 'created');
    assert.ok(result.sync.filesTransferred >= 3);
    const exec = await mlt(['exec', host, '--', 'sh', '-c', 'cat /workspace/src/train.py; cat /built.txt; echo "$GREETING"; ls /workspace']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /print\("hello"\)/);
    assert.match(exec.stdout, /built/);
    assert.match(exec.stdout, /hello from config/);
    assert.doesNotMatch(exec.stdout, /secret-data/, '.gitignore is honoured');
    assert.equal(existsSync(join(sandbox.root, 'pwned')), false);
    assert.equal(existsSync(join(project, 'pwned')), false);
  });

  it('a second connect rebuilds nothing and copies nothing', async () => {
    const result = await json(['connect', host, '--no-attach']);
    assert.equal(result.imageAction, 'reused-build');
    assert.equal(result.container.action, 'reused');
    assert.equal(result.sync.filesTransferred, 0);
  });

  it('exec passes the exit code through', async () => {
    const result = await mlt(['exec', host, '--', 'sh', '-c', 'exit 7']);
    assert.equal(result.code, 7);
  });

  it('sync after editing one file moves one file; remote-only outputs survive; fetch brings them back', async () => {
    await writeFile(join(project, 'src', 'train.py'), 'print("edited")\n');
    await mlt(['exec', host, '--', 'sh', '-c', 'mkdir -p outputs && echo result > outputs/metrics.txt']);
    const sync = await json(['sync', host]);
    assert.equal(sync.summary.filesTransferred, 1);
    const check = await mlt(['exec', host, '--', 'cat', 'outputs/metrics.txt', 'src/train.py']);
    assert.equal(check.stdout, 'result\nprint("edited")\n');
    await json(['fetch', host, 'outputs/']);
    assert.equal(await readFile(join(project, 'outputs', 'metrics.txt'), 'utf8'), 'result\n');
  });

  it('changing the config recreates the container', async () => {
    const yaml = await readFile(join(project, 'mltoolbox.yaml'), 'utf8');
    await writeFile(join(project, 'mltoolbox.yaml'), yaml.replace('hello from config', 'changed'));
    const result = await json(['connect', host, '--no-attach', '--skip-sync']);
    assert.equal(result.container.action, 'recreated');
    const exec = await mlt(['exec', host, '--', 'sh', '-c', 'echo "$GREETING"']);
    assert.equal(exec.stdout, 'changed\n');
  });

  it('-p forwards a local port to a server in the container', async () => {
    const local = await freePort();
    await mlt(['exec', host, '--', 'sh', '-c', 'mkdir -p /tmp/www && echo served > /tmp/www/index.html && httpd -p 8000 -h /tmp/www']);
    const result = await json(['connect', host, '--no-attach', '--skip-sync', '-p', `${local}:8000`]);
    assert.deepEqual(result.forwards, [{ local, container: 8000 }]);
    // The container was recreated for the new port: start the server again.
    await mlt(['exec', host, '--', 'sh', '-c', 'mkdir -p /tmp/www && echo served > /tmp/www/index.html && httpd -p 8000 -h /tmp/www']);
    const response = await fetch(`http://127.0.0.1:${local}/index.html`, { signal: AbortSignal.timeout(10_000) });
    assert.equal((await response.text()).trim(), 'served');
    const status = await json(['status', host]);
    assert.deepEqual(status.forwards.map((f: { local: number; container: number; alive: boolean }) => ({ local: f.local, container: f.container, alive: f.alive })), [{ local, container: 8000, alive: true }]);
    assert.equal(status.container.state, 'running');
  });

  it('shell gets a real terminal in the container, and its exit code comes back', async () => {
    // script(1) gives mltoolbox a pseudo-terminal, as a user's terminal would.
    const command = joinShellCommand([process.execPath, join(import.meta.dirname, '../../bin/mltoolbox.js'), '-C', project, 'shell', host]);
    const result = await run('script', ['-qfec', command, '/dev/null'], {
      env: { ...sandbox.env, TERM: 'xterm' },
      input: 'echo "in:$(pwd)"; tty; exit 3\n',
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 3, result.stdout);
    assert.match(result.stdout, /in:\/workspace/);
    assert.match(result.stdout, /\/dev\/pts\/\d+/);
  });

  it('down removes the container and keeps the files on the host', async () => {
    const result = await json(['down', host]);
    assert.equal(result.action, 'removed');
    const exec = await mlt(['exec', host, '--', 'true']);
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /NOT_CONNECTED/);
    const files = await run('ssh', ['-F', harness.ssh.sshConfigFile, host, 'ls', result.filesKept]);
    assert.match(files.stdout, /src/);
  });

  it('an unreachable host fails fast with a hint', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await mlt(['connect', `root@127.0.0.1:${port}`, '--no-attach']);
    assert.equal(result.code, 4);
    assert.match(result.stderr, /SSH_UNREACHABLE/);
    assert.match(result.stderr, /hint:/);
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('connect local', async () => {
  const harness = await useHarness();
  it('only creating a container reads secrets: status works without them, connect names the missing one', async () => {
    const sandbox = await createSandbox({ harness, env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'pw' } });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), `version: 1\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  env:\n    TOKEN: \${secret:absent}\n`);
    const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 60_000 });
    const status = await mlt(['status', 'local']);
    assert.equal(status.code, 0, status.stderr);
    const connect = await mlt(['connect', 'local', '--no-attach']);
    assert.equal(connect.code, 3);
    assert.match(connect.stderr, /mltoolbox secret set absent/);
  });
  it('runs the same pipeline on the local engine with a bind mount', async () => {
    const sandbox = await createSandbox({ harness });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), `version: 1\nenvironment:\n  base_image: ${harness.docker.baseImage}\n`);
    await writeFile(join(sandbox.projectDir, 'hello.txt'), 'local file\n');
    const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 120_000 });
    try {
      const connect = await mlt(['connect', 'local', '--no-attach', '--json']);
      assert.equal(connect.code, 0, connect.stderr);
      assert.equal(JSON.parse(connect.stdout).result.target, 'local');
      const exec = await mlt(['exec', '--', 'cat', 'hello.txt']);
      assert.equal(exec.stdout, 'local file\n');
    } finally {
      await mlt(['down', 'local']);
    }
  });

  it('-p 5353:5353/udp and a /udp config port reach Docker as udp (local and remote engines)', async () => {
    const sandbox = await createSandbox({ harness });
    const host = harness.ssh.alias;
    const [configUdp, flagUdp, tcp] = [await freePort(), await freePort(), await freePort()];
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'),
      `version: 1\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  ports: ["${configUdp}:53/udp", ${tcp}]\n`);
    const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 120_000 });
    const bindings = async (id: string) => {
      const inspected = JSON.parse(await runOk('docker', ['inspect', id], { env: { ...process.env, DOCKER_HOST: sandbox.env.DOCKER_HOST } }))[0];
      return inspected.HostConfig.PortBindings as Record<string, { HostIp: string; HostPort: string }[]>;
    };
    for (const target of ['local', host]) {
      try {
        const connect = await mlt(['connect', target, '--no-attach', '-p', `${flagUdp}:5353/udp`, '--json']);
        assert.equal(connect.code, 0, connect.stderr);
        const result = JSON.parse(connect.stdout).result;
        const ports = await bindings(result.container.id);
        assert.deepEqual(ports[`5353/udp`], [{ HostIp: '127.0.0.1', HostPort: String(flagUdp) }], target);
        assert.deepEqual(ports[`53/udp`], [{ HostIp: '127.0.0.1', HostPort: String(configUdp) }], target);
        assert.equal(ports['5353/tcp'], undefined, `${target}: udp is not published as tcp`);
        assert.deepEqual(ports[`${tcp}/tcp`]?.[0]?.HostIp, '127.0.0.1', target);
        // The TCP port is forwarded; UDP ones are not forwards (SSH carries TCP only, and says so).
        assert.deepEqual(result.forwards.map((f: { container: number }) => f.container), [tcp], target);
        if (target !== 'local') assert.match(connect.stderr, new RegExp(`UDP port 5353 is published on ${host}'s 127\\.0\\.0\\.1:${flagUdp} only`));
      } finally {
        await mlt(['down', target]);
      }
    }
  });
});
