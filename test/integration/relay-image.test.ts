import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSandbox, ensureDebianImage, run, runMltoolbox, useHarness, waitFor, type Sandbox } from '../harness/index.ts';

/**
 * `mltoolbox relay image build` through the built binary: the relay's image
 * made offline on the one cached Debian test image (the bootstrap base a user
 * gets from `image bootstrap`), run with its port published on 127.0.0.1
 * only, reached with and without a token.
 */
describe('relay image', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const tag = `mltoolbox-test/relay:${suffix}`;
  const name = `mlt-relay-image-test-${suffix}`;
  let built = false;

  before(async () => {
    sandbox = await createSandbox({ harness });
  });

  after(async () => {
    await run('docker', ['rm', '-f', name], { timeoutMs: 60_000 });
    if (built) await run('docker', ['rmi', tag], { timeoutMs: 60_000 });
  });

  it('builds offline on the Debian base, runs on 127.0.0.1 only, and refuses requests without a token', async () => {
    const base = (await ensureDebianImage()).tag;
    const result = await runMltoolbox(['relay', 'image', 'build', '--base', base, '--tag', tag, '--json'], { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 600_000 });
    assert.equal(result.code, 0, result.stderr);
    built = true;
    const body = JSON.parse(result.stdout) as { result: { tag: string; base: string; packages: number } };
    assert.equal(body.result.tag, tag);
    assert.equal(body.result.base, base);
    assert.ok(body.result.packages >= 10, 'PostgreSQL\'s client and its packages are in the image');
    const inspect = JSON.parse((await run('docker', ['image', 'inspect', tag])).stdout) as { Config: { User: string; Entrypoint: string[]; Labels: Record<string, string> } }[];
    assert.equal(inspect[0]!.Config.User, '10001:10001', 'the relay does not run as root');
    assert.ok(inspect[0]!.Config.Entrypoint.includes('--max-semi-space-size=1'));
    assert.equal(inspect[0]!.Config.Labels['mltoolbox.relay'], 'true');

    // The port on loopback only (a free one picked by the engine).
    const started = await run('docker', ['run', '-d', '--name', name, '--label', 'mltoolbox-test=relay-image', '-p', '127.0.0.1::7878', tag], { timeoutMs: 60_000 });
    assert.equal(started.code, 0, started.stderr);
    const ports = (await run('docker', ['port', name, '7878/tcp'])).stdout.trim().split('\n');
    assert.ok(ports.every((p) => p.startsWith('127.0.0.1:')), `published on loopback only: ${ports.join(', ')}`);
    const url = `http://${ports[0]}`;
    await waitFor('the relay in the container answers', async () => {
      const response = await fetch(`${url}/api/v1/whoami`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return response?.status === 401;
    }, 60_000);
    const refused = await fetch(`${url}/api/v1/hosts`, { headers: { authorization: 'Bearer mltr_u_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' } });
    assert.equal(refused.status, 401);
    // A token made inside the container (its database is the /data volume) is accepted.
    const token = await run('docker', ['exec', name, 'mltoolbox', 'relay', 'token', 'create', '--name', 'laptop'], { timeoutMs: 60_000 });
    assert.equal(token.code, 0, token.stderr);
    const accepted = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
    assert.equal(accepted.status, 200);
    assert.deepEqual(((await accepted.json()) as { name: string }).name, 'laptop');
    // `relay serve` replaced itself with the relay-only bundle, under the memory flags (docs/relay.md#memory).
    const cmdline = (await run('docker', ['exec', name, 'cat', '/proc/1/cmdline'])).stdout.split('\0');
    assert.ok(cmdline.includes('/opt/mltoolbox/dist/relay/main.js') && cmdline.includes('--jitless'), cmdline.join(' '));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200, 'the dashboard\'s login page');
  });
});
