import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, startPodman, useHarness, type PodmanService, type Sandbox } from '../harness/index.ts';
import { startSshdWithout } from '../harness/sshd.ts';

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

  it('a host with Podman and no Docker CLI: connect builds the features on Podman; exec, shell and a second connect work', { timeout: 600_000 }, async () => {
    // The same machine, reached through an sshd whose sessions get a PATH without docker (as a cluster that allows only Podman).
    const sshd = await startSshdWithout(await mkdtemp(join(tmpdir(), 'mlt-no-docker-')), /^docker/);
    const bin = sshd.bin;
    try {
      const podOnly = await createSandbox({ harness, env: { MLTOOLBOX_SSH_CONFIG: sshd.endpoint.sshConfigFile, MLTOOLBOX_KNOWN_HOSTS: sshd.endpoint.knownHostsFile } });
      const onHost = await run('ssh', ['-F', sshd.endpoint.sshConfigFile, sshd.endpoint.alias, 'command -v docker || echo no-docker; command -v podman']);
      assert.equal(onHost.stdout.trim().split('\n').slice(-2).join(' '), `no-docker ${join(bin, 'podman')}`, onHost.stderr);
      // A local feature (Dev Container Features on Podman: built through its Docker-compatible build API).
      await mkdir(join(podOnly.projectDir, 'hello-feature'));
      await writeFile(join(podOnly.projectDir, 'hello-feature', 'devcontainer-feature.json'), JSON.stringify({
        id: 'hello', version: '1.0.0', options: { word: { type: 'string', default: 'hi' } }, containerEnv: { HELLO_HOME: '/opt/hello' },
      }));
      await writeFile(join(podOnly.projectDir, 'hello-feature', 'install.sh'), '#!/bin/sh\nset -e\nmkdir -p /opt/hello\necho "$WORD" > /opt/hello/word\n');
      await writeFile(join(podOnly.projectDir, 'mltoolbox.yaml'), [
        'version: 1', 'environment:', `  base_image: ${harness.docker.baseImage}`, '  engine: podman', '  network_mode: none', '  gpus: none',
        '  features:', '    ./hello-feature:', '      word: from-podman',
        'remote:', `  docker_socket: ${podman.socketPath}`, '',
      ].join('\n'));
      const podRun = (args: string[], input?: string) => runMltoolbox(args, { env: podOnly.env, cwd: podOnly.projectDir, timeoutMs: 300_000, ...(input === undefined ? {} : { input }) });

      const first = await podRun(['connect', host, '--no-attach', '--json']);
      assert.equal(first.code, 0, first.stderr);
      const result = JSON.parse(first.stdout).result;
      assert.equal(result.featuresAction, 'built');
      assert.match((await podman.docker(['ps', '--format', '{{.Names}}'])).stdout, new RegExp(`^${result.container.name}$`, 'm'), 'the container runs on Podman');
      // exec and shell go through the host's engine CLI: Podman's own here.
      const exec = await podRun(['exec', host, '--', 'sh', '-c', 'cat /opt/hello/word; echo "$HELLO_HOME"']);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout, 'from-podman\n/opt/hello\n');
      const failing = await podRun(['exec', host, '--', 'sh', '-c', 'exit 7']);
      assert.equal(failing.code, 7, failing.stderr);
      const shell = await podRun(['shell', host], 'echo "in-the-shell $HELLO_HOME"; exit 0\n');
      assert.equal(shell.code, 0, shell.stderr);
      assert.match(shell.stdout, /in-the-shell \/opt\/hello\n/);

      const again = await podRun(['connect', host, '--no-attach', '--json']);
      assert.equal(again.code, 0, again.stderr);
      const second = JSON.parse(again.stdout).result;
      assert.equal(second.featuresAction, 'reused-build');
      assert.equal(second.container.action, 'reused');
      assert.equal((await podRun(['down', host])).code, 0);
    } finally {
      await sshd.stop();
    }
  });

  it('GPUs on this Podman (4.3: CDI only through its libpod API): a CDI device reaches the container; no spec is GPU_CDI_SPEC_MISSING', async () => {
    // A fake "GPU": a CDI spec of a kind of its own (unique per run), in /etc/cdi where Podman reads specs, that
    // mounts a file (as NVIDIA's spec mounts the driver's libraries) and sets an env var for the container's process.
    const kind = `mlt${process.pid}.test/gpu`;
    const specFile = `/etc/cdi/mlt-test-${process.pid}.yaml`;
    const fakeDir = await mkdtemp(join(tmpdir(), 'mlt-cdi-'));
    await writeFile(join(fakeDir, 'gpu-info'), 'fake gpu 0\n');
    await run('mkdir', ['-p', '/etc/cdi']);
    await writeFile(specFile, [
      'cdiVersion: "0.5.0"', `kind: "${kind}"`, 'devices:', '- name: all', '  containerEdits:', '    env:', '    - MLT_FAKE_GPU=injected-by-cdi',
      '    mounts:', `    - hostPath: ${join(fakeDir, 'gpu-info')}`, '      containerPath: /run/mlt-fake-gpu', '      options: [ro, bind]', '',
    ].join('\n'));
    try {
      const gpuSandbox = await createSandbox({ harness });
      const config = (devices: string[]) => writeFile(join(gpuSandbox.projectDir, 'mltoolbox.yaml'), [
        'version: 1', 'environment:', `  base_image: ${harness.docker.baseImage}`, '  engine: podman', '  network_mode: none', '  gpus: required',
        ...(devices.length ? ['  gpu_devices:', ...devices.map((d) => `    - "${d}"`)] : []),
        'remote:', `  docker_socket: ${podman.socketPath}`, '',
      ].join('\n'));
      const gpuRun = (args: string[]) => runMltoolbox(args, { env: gpuSandbox.env, cwd: gpuSandbox.projectDir, timeoutMs: 300_000 });

      // No spec names nvidia.com/gpu=all on this machine: required stops with the nvidia-ctk fix and leaves nothing behind.
      await config([]);
      const names = async () => (await podman.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout;
      const existing = await names();
      const missing = await gpuRun(['connect', host, '--no-attach', '--json']);
      assert.equal(missing.code, 1, missing.stderr);
      const { error } = JSON.parse(missing.stdout);
      assert.equal(error.code, 'GPU_CDI_SPEC_MISSING');
      assert.match(error.message, new RegExp(`no CDI spec on ${host} defines nvidia\\.com/gpu=all`));
      assert.match(error.hint, /nvidia-ctk cdi generate --output=\/etc\/cdi\/nvidia\.yaml/);
      assert.equal(await names(), existing, 'the container that could not start was removed');

      // The fake device by its CDI name: created through Podman's libpod API, the spec's edits reach the container.
      await config([`${kind}=all`]);
      const r = await gpuRun(['connect', host, '--no-attach', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const { result } = JSON.parse(r.stdout);
      assert.equal(result.container.action, 'created');
      assert.deepEqual(result.warnings ?? [], []);
      // (Podman applies CDI env edits to the container's own process, not to later execs: read PID 1's.)
      const exec = await gpuRun(['exec', host, '--', 'sh', '-c', "cat /run/mlt-fake-gpu; tr '\\0' '\\n' < /proc/1/environ | grep '^MLT_FAKE_GPU='"]);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout, 'fake gpu 0\nMLT_FAKE_GPU=injected-by-cdi\n');
      const again = await gpuRun(['connect', host, '--no-attach', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).result.container.action, 'reused', 'the libpod-created container carries the same config hash');
      assert.equal((await gpuRun(['down', host])).code, 0);
    } finally {
      await rm(specFile, { force: true });
      await rm(fakeDir, { recursive: true, force: true });
    }
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
