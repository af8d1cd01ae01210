import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, startPodman, useHarness, type PodmanService, type Sandbox } from '../harness/index.ts';

/**
 * Podman as the host's engine: its Docker-compatible API socket, reached over
 * ssh like Docker's. The image is not there and pulling is off, so connect
 * sends it from this machine's Docker Engine, then runs the container on Podman.
 */
describe('connect to a host whose engine is Podman', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let podman: PodmanService;
  const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 300_000 });

  before(async () => {
    podman = await startPodman();
    sandbox = await createSandbox({ harness });
    await writeFile(join(sandbox.projectDir, 'hello.txt'), 'hello from the project\n');
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), [
      'version: 1', 'environment:', `  base_image: ${harness.docker.baseImage}`, '  engine: podman', '  network_mode: none', '  env:', '    GREETING: podman',
      'remote:', `  docker_socket: ${podman.socketPath}`, '',
    ].join('\n'));
  }, { timeout: 120_000 });

  after(async () => {
    await mlt(['down', host]);
    await podman?.stop();
  });

  it('connect sends the image, starts the container on Podman, and exec runs in it', async () => {
    const r = await mlt(['connect', host, '--no-attach', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout).result;
    assert.equal(result.imageAction, 'sent');
    assert.equal(result.container.action, 'created');
    const ps = await podman.docker(['ps', '--format', '{{.Names}}']);
    assert.match(ps.stdout, new RegExp(`^${result.container.name}$`, 'm'), 'the container runs on Podman');
    const exec = await mlt(['exec', host, '--', 'sh', '-c', 'cat /workspace/hello.txt; echo "$GREETING"']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout, 'hello from the project\npodman\n');
  });

  it('a second connect reuses the container', async () => {
    const r = await mlt(['connect', host, '--no-attach', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).result.container.action, 'reused');
  });

  it('GPUs on this Podman (4.3, whose compat API drops CDI devices): required stops before creating anything, with the reason', async () => {
    const gpuSandbox = await createSandbox({ harness });
    await writeFile(join(gpuSandbox.projectDir, 'mltoolbox.yaml'), [
      'version: 1', 'environment:', `  base_image: ${harness.docker.baseImage}`, '  engine: podman', '  network_mode: none', '  gpus: required',
      'remote:', `  docker_socket: ${podman.socketPath}`, '',
    ].join('\n'));
    const version = (await podman.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
    const r = await runMltoolbox(['connect', host, '--no-attach', '--json'], { env: gpuSandbox.env, cwd: gpuSandbox.projectDir, timeoutMs: 300_000 });
    assert.equal(r.code, 1, r.stderr);
    const { error } = JSON.parse(r.stdout);
    assert.equal(error.code, 'GPU_CDI_UNSUPPORTED');
    assert.match(error.message, new RegExp(`Podman ${version.replace(/\./g, '\\.')} on ${host} cannot hand GPUs`));
    assert.match(error.hint, /5\.5 or newer/);
    const ps = await podman.docker(['ps', '-a', '--format', '{{.Names}}']);
    assert.doesNotMatch(ps.stdout, /gpu/, 'nothing was created for it');
  });
});

describe('doctor on a host whose engine is Podman', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let podman: PodmanService;
  let sandbox: Sandbox;
  let idle: string;
  const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 300_000 });
  const config = (socket: string) => writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), ['version: 1', 'environment:', '  engine: podman', 'remote:', `  docker_socket: ${socket}`, ''].join('\n'));
  // A report's checks; --fix answers with its steps and the report after them.
  const checksOf = (stdout: string) => Object.fromEntries(((JSON.parse(stdout).result.report ?? JSON.parse(stdout).result).checks as { id: string; status: string; detail: string; fix: string | null }[]).map((c) => [c.id, c]));

  before(async () => {
    podman = await startPodman();
    sandbox = await createSandbox({ harness });
    idle = await mkdtemp(join(tmpdir(), 'mlt-pod-idle-'));
  }, { timeout: 120_000 });

  after(async () => {
    // The service doctor --fix started on the harness host: found by its unique socket path, ended by its pid.
    const pids = (await run('pgrep', ['-f', `podman system service --time=0 unix://${idle}/sock/podman.sock`])).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(idle, { recursive: true, force: true });
    await podman?.stop();
  });

  it('checks Podman instead of Docker: its CLI and its API answering on the socket connect uses', async () => {
    await config(podman.socketPath);
    const r = await mlt(['doctor', host, '--no-gpu', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const checks = checksOf(r.stdout);
    assert.equal(checks['host.docker-cli'], undefined, 'no Docker checks on a Podman host');
    assert.match(checks['host.podman-cli'].detail, /^podman \d+\.\d+/);
    assert.equal(checks['host.podman-service'].status, 'ok');
    assert.match(checks['host.podman-service'].detail, new RegExp(`^Podman \\d+\\.\\d+\\.\\d+ answers at ${podman.socketPath}$`));
  });

  it('nothing serves the socket: the check fails with the start that fits the host; --fix --yes starts it; a second --fix changes nothing', { timeout: 300_000 }, async () => {
    const socket = `${idle}/sock/podman.sock`;
    await config(socket);
    const before = await mlt(['doctor', host, '--no-gpu', '--json']);
    assert.equal(before.code, 5, before.stderr);
    const service = checksOf(before.stdout)['host.podman-service'];
    assert.equal(service.status, 'fail');
    assert.equal(service.detail, `nothing serves Podman's API at ${socket} (no systemd on this host)`);
    const start = `mkdir -p ${idle}/sock && nohup podman system service --time=0 unix://${socket} >/dev/null 2>&1 &`;
    assert.equal(service.fix, `on the host: ${start}`);

    const fixed = await mlt(['doctor', host, '--fix', '--yes', '--no-gpu', '--json']);
    assert.equal(fixed.code, 0, fixed.stderr);
    const { result } = JSON.parse(fixed.stdout);
    assert.deepEqual(result.steps.map((s: { id: string; command: string; outcome: string }) => [s.id, s.command, s.outcome]), [['start-podman', start, 'done']]);
    assert.equal(checksOf(fixed.stdout)['host.podman-service'].status, 'ok');

    const again = await mlt(['doctor', host, '--fix', '--yes', '--no-gpu', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).result.steps, []);
    assert.equal(JSON.parse(again.stdout).result.changed, false);
  });
});
