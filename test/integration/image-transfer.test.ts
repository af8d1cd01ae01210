import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, runOk, startSecondEngine, useHarness, type Sandbox, type SecondEngine } from '../harness/index.ts';

/**
 * Images without a registry: the harness host reached over ssh gets a second
 * Docker Engine (its own data root and socket, remote.docker_socket), so an
 * image this machine has is really missing there. Only the layers it lacks
 * travel: a second image sharing its base sends just its own layer.
 */
describe('image transfer to a host that cannot pull', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  const run_ = randomBytes(4).toString('hex');
  const base = `mltoolbox-test/transfer-base:${run_}`;
  const child = `mltoolbox-test/transfer-child:${run_}`;
  const third = `mltoolbox-test/transfer-third:${run_}`;
  let sandbox: Sandbox;
  let engine: SecondEngine;
  const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 300_000 });
  const pushJson = async (image: string) => {
    const r = await mlt(['image', 'push', host, image, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).result as { bytesSent: number; bytesFull: number; layers: number; layersSkipped: number };
  };

  /** An image FROM `from` with one layer of `mb` MB of random bytes. */
  async function build(tag: string, from: string, mb: number) {
    const dir = join(sandbox.root, `build-${tag.replace(/\W/g, '-')}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), `FROM ${from}\nRUN head -c ${mb * 1_000_000} /dev/urandom > /blob-${mb}-${tag.split('/')[1]!.split(':')[0]}\n`);
    await runOk('docker', ['build', '-q', '--label', 'dev.mltoolbox.test=image-transfer', '-t', tag, dir], { timeoutMs: 300_000 });
  }

  before(async () => {
    engine = await startSecondEngine();
    sandbox = await createSandbox({ harness });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), ['version: 1', 'environment:', `  base_image: ${third}`, '  network_mode: none', 'remote:', `  docker_socket: ${engine.socketPath}`, ''].join('\n'));
    await build(base, harness.docker.baseImage, 8);
    await build(child, base, 1);
    await build(third, base, 1);
  }, { timeout: 600_000 });

  after(async () => {
    await mlt(['down', host]);
    await engine?.stop();
    await run('docker', ['rmi', '-f', base, child, third], { timeoutMs: 60_000 });
  });

  it('image push sends the whole image to an engine that has none of it', async () => {
    assert.notEqual((await engine.docker(['image', 'inspect', base])).code, 0, 'the second engine starts empty');
    const result = await pushJson(base);
    assert.equal(result.layersSkipped, 0);
    assert.ok(result.bytesSent > 8_000_000, `sent ${result.bytesSent}`);
    assert.equal((await engine.docker(['image', 'inspect', '--format', '{{.Id}}', base])).stdout.trim(), (await runOk('docker', ['image', 'inspect', '--format', '{{.Id}}', base])).trim());
  });

  it('a second image sharing the base sends only its own layer', async () => {
    const result = await pushJson(child);
    assert.equal(result.layersSkipped, result.layers - 1);
    assert.ok(result.bytesSent < 1_200_000, `sent ${result.bytesSent} of ${result.bytesFull}`);
    assert.ok(result.bytesFull > 9_000_000);
    const ls = await engine.docker(['run', '--rm', '--network', 'none', child, 'sh', '-c', 'ls /']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /blob-8-transfer-base/);
    assert.match(ls.stdout, /blob-1-transfer-child/);
  });

  it('connect: the host lacks the configured image and pulling is off, so connect sends it (image_transfer: auto)', async () => {
    const r = await mlt(['connect', host, '--no-attach', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout).result;
    assert.equal(result.imageAction, 'sent');
    assert.match(r.stderr, /sent \d+\.\d MB of \d+\.\d MB: 2 of 3 layers were already on/);
    const exec = await mlt(['exec', host, '--', 'ls', '/']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /blob-1-transfer-third/);
  });

  it('image_transfer: never leaves the host without the image: IMAGE_NOT_FOUND', async () => {
    await mlt(['down', host]);
    await engine.docker(['rmi', '-f', third]);
    await writeFile(join(sandbox.projectDir, 'mltoolbox.local.yaml'), 'environment:\n  image_transfer: never\n');
    const r = await mlt(['connect', host, '--no-attach', '--json']);
    assert.notEqual(r.code, 0);
    assert.equal(JSON.parse(r.stdout).error.code, 'IMAGE_NOT_FOUND');
  });
});
