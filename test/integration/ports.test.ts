import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolvePaths } from '../../src/core/paths.ts';
import { controlDirCandidates } from '../../src/services/ssh/control-path.ts';
import { createSandbox, freePort, run, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function served(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(10_000) });
  return (await response.text()).trim();
}

/**
 * Port forwards through the built binary against the harness's sshd and
 * Docker: detached forwards outlive connect and the shared master,
 * `ports list` probes them, `ports close` frees the port, an attached
 * connect's forwards end with its shell; status shows forwards and GPUs.
 */
describe('ports', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  const mlt = (args: string[], input?: string) =>
    runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, ...(input !== undefined ? { input } : {}), timeoutMs: 120_000 });
  const json = async (args: string[]) => {
    const result = await mlt([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')} failed:\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const serve = async () => {
    const r = await mlt(['exec', host, '--', 'sh', '-c', 'mkdir -p /tmp/www && echo served > /tmp/www/index.html && (pgrep httpd >/dev/null || httpd -p 8000 -h /tmp/www)']);
    assert.equal(r.code, 0, r.stderr);
  };
  /** `ssh -O exit` on every shared master of this sandbox (hex-named sockets; holders start with p). */
  const exitMasters = async () => {
    const candidates = controlDirCandidates(sandbox.env, resolvePaths(sandbox.env).stateDir);
    let closed = 0;
    for (const dir of candidates.filter((d) => existsSync(d))) {
      for (const name of readdirSync(dir).filter((n) => /^[0-9a-f]{16}$/.test(n))) {
        await run('ssh', ['-F', '/dev/null', '-o', `ControlPath=${join(dir, name)}`, '-O', 'exit', 'x']);
        closed++;
      }
    }
    return closed;
  };

  before(async () => {
    sandbox = await createSandbox({ harness });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'),
      `version: 1\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  gpus: optional\n`);
  });

  after(async () => {
    await mlt(['ports', 'close', '--all']);
    await mlt(['down', host]);
  });

  let detachedPort: number;

  it('connect --no-attach -p keeps a detached forward; ports list shows it alive', async () => {
    detachedPort = await freePort();
    const result = await json(['connect', host, '--no-attach', '-p', `${detachedPort}:8000`]);
    assert.deepEqual(result.forwards, [{ local: detachedPort, container: 8000 }]);
    await serve();
    assert.equal(await served(detachedPort), 'served');
    const { forwards } = await json(['ports', 'list']);
    assert.equal(forwards.length, 1);
    assert.equal(forwards[0].local, detachedPort);
    assert.equal(forwards[0].container, 8000);
    assert.equal(forwards[0].target, host);
    assert.equal(forwards[0].kind, 'detached');
    assert.equal(forwards[0].alive, true);
    assert.equal(typeof forwards[0].pid, 'number');
  });

  it('the detached forward survives ssh -O exit on the shared master', async () => {
    assert.ok((await exitMasters()) >= 1, 'a shared master was running');
    assert.equal(await served(detachedPort), 'served');
  });

  it('a second connect with the same port and container keeps the running forward', async () => {
    const before = (await json(['ports', 'list', host])).forwards[0];
    const result = await json(['connect', host, '--no-attach', '--skip-sync', '-p', `${detachedPort}:8000`]);
    assert.equal(result.container.action, 'reused');
    const afterList = (await json(['ports', 'list', host])).forwards;
    assert.equal(afterList.length, 1);
    assert.equal(afterList[0].pid, before.pid);
    assert.equal(await served(detachedPort), 'served');
  });

  it('status shows the forward and a GPU line (this host has no NVIDIA driver)', async () => {
    const status = await json(['status', host]);
    assert.deepEqual(status.forwards.map((f: { local: number; alive: boolean }) => [f.local, f.alive]), [[detachedPort, true]]);
    assert.equal(status.gpu.state, 'none');
    assert.match(status.gpu.message, /no NVIDIA driver/);
    const human = await mlt(['status', host]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`port +127\\.0\\.0\\.1:${detachedPort} -> container :8000 on ${host} \\(detached, alive\\)`));
    assert.match(human.stdout, /gpu +no NVIDIA driver/);
  });

  it('ports close frees the local port and forgets the forward', async () => {
    const missing = await mlt(['ports', 'close', '1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /FORWARD_NOT_FOUND/);
    const result = await json(['ports', 'close', String(detachedPort)]);
    assert.deepEqual(result.closed.map((f: { local: number }) => f.local), [detachedPort]);
    assert.equal(await accepts(detachedPort), false);
    assert.deepEqual((await json(['ports', 'list'])).forwards, []);
  });

  it("an attached connect's forwards end with its shell", async () => {
    const port = await freePort();
    const result = await mlt(['connect', host, '--skip-sync', '-p', `${port}:8000`], 'exit 0\n');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`http://127\\.0\\.0\\.1:${port} -> container :8000`));
    assert.deepEqual((await json(['ports', 'list'])).forwards, []);
    assert.equal(await accepts(port), false);
  });

  it('down stops detached forwards', async () => {
    const port = await freePort();
    await json(['connect', host, '--no-attach', '--skip-sync', '-p', `${port}:8000`]);
    assert.equal(await accepts(port), true);
    await json(['down', host]);
    assert.equal(await accepts(port), false);
    assert.deepEqual((await json(['ports', 'list'])).forwards, []);
  });

  it('leaves no background ssh of this sandbox running', async () => {
    const ps = await run('ps', ['-eo', 'args']);
    assert.deepEqual(ps.stdout.split('\n').filter((line) => line.includes(`ControlPath=${sandbox.root}`) && line.includes(' -L ')), []);
  });
});

describe('remote add: ssh_config Include', async () => {
  const harness = await useHarness();

  it('writes the Host entry; touches ~/.ssh/config only with --yes, once, keeping its bytes', async () => {
    const sandbox = await createSandbox({ harness });
    const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 60_000 });
    const userConfig = join(sandbox.home, '.ssh', 'config');
    await mkdir(join(sandbox.home, '.ssh'), { recursive: true, mode: 0o700 });
    const mine = 'Host mine\n  HostName mine.example.com\n';
    await writeFile(userConfig, mine, { mode: 0o600 });
    const generated = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config');

    const plain = await mlt(['remote', 'add', 'lab', 'alice@10.0.0.5:2222']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(await readFile(generated, 'utf8'), /Host lab\n {2}HostName 10\.0\.0\.5\n {2}User alice\n {2}Port 2222\n/);
    assert.equal((await stat(generated)).mode & 0o777, 0o600);
    assert.equal(await readFile(userConfig, 'utf8'), mine, 'no consent, no change');
    assert.match(plain.stderr, /Include ~\/|Include \//);

    for (let i = 0; i < 2; i++) {
      const yes = await runMltoolbox(['remote', 'add', 'gpu', 'gpu.example.com', '--yes', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
      assert.equal(yes.code, 0, yes.stderr);
      assert.equal(JSON.parse(yes.stdout).result.sshConfig.include, i === 0 ? 'added' : 'present');
    }
    const text = await readFile(userConfig, 'utf8');
    assert.equal(text, `Include ${generated}\n${mine}`.replace(`Include ${sandbox.home}/`, 'Include ~/'));
    assert.equal(await readFile(`${userConfig}.mltoolbox.bak`, 'utf8'), mine);

    const removed = await mlt(['remote', 'remove', 'lab']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.doesNotMatch(await readFile(generated, 'utf8'), /Host lab/);
    assert.match(await readFile(generated, 'utf8'), /Host gpu\n/);
  });
});
