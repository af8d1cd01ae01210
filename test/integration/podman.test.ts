import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, startPodman, useHarness, type PodmanService, type Sandbox } from '../harness/index.ts';

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
});
