import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../../src/core/errors.ts';
import { LambdaBackend } from '../../../src/backends/lambda.ts';
import { ShadeformBackend } from '../../../src/backends/shadeform.ts';
import { RunpodBackend } from '../../../src/backends/runpod.ts';
import { matchesGpu } from '../../../src/backends/offers.ts';
import { backendBaseUrl, createBackendRegistry } from '../../../src/backends/registry.ts';
import type { BackendOptions, Instance, ProvisioningBackend } from '../../../src/backends/types.ts';
import { startLambdaEmulator, type LambdaEmulator } from '../../emulators/lambda.ts';
import { startShadeformEmulator, type ShadeformEmulator } from '../../emulators/shadeform.ts';
import { startRunpodEmulator, type RunpodEmulator } from '../../emulators/runpod.ts';
import { CLOUDFLARE_429 } from '../../emulators/server.ts';

const KEY = 'secret_test.key';
const SSH = { host: '127.0.0.1', port: 2222, user: 'root' };
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2x test@host';
/** Retries without real waiting: the delays asked for are recorded. */
function fastOptions(url: string, extra: Partial<BackendOptions> = {}) {
  const waits: number[] = [];
  const options: BackendOptions = { apiKey: KEY, baseUrl: url, sleep: async (ms) => void waits.push(ms), random: () => 0.5, timeoutMs: 2000, ...extra };
  return { options, waits };
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<UserError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(`${error.message}\n${error.hint}`, pattern);
    return error;
  }
  assert.fail(`expected ${code}`);
}

async function waitUntil(backend: ProvisioningBackend, id: string, ready: (i: Instance | undefined) => boolean): Promise<Instance | undefined> {
  for (let i = 0; i < 150; i++) {
    const instance = await backend.get(id);
    if (ready(instance)) return instance;
    await new Promise((r) => setTimeout(r, 40));
  }
  assert.fail('instance never reached the state');
}

describe('gpu names', () => {
  it('match across providers at token boundaries, never A10 for A100', () => {
    assert.ok(matchesGpu('h100', 'H100 (80 GB PCIe)'));
    assert.ok(matchesGpu('H100', 'H100_sxm5'));
    assert.ok(matchesGpu('rtx 4090', 'NVIDIA GeForce RTX 4090'));
    assert.ok(matchesGpu('A100', 'A100_80G'));
    assert.ok(!matchesGpu('A10', 'A100 (40 GB PCIe)'));
    assert.ok(!matchesGpu('H100', 'GH200 (96 GB)'));
  });
});

describe('registry and base URLs', () => {
  it('knows the three backends; env wins over config; plain http only to loopback', () => {
    const registry = createBackendRegistry();
    assert.deepEqual(registry.list().map((b) => b.name), ['lambda', 'shadeform', 'runpod']);
    assert.throws(() => registry.get('vast'), (e: UserError) => e.code === 'BACKEND_UNKNOWN');
    const lambda = registry.get('lambda');
    assert.equal(backendBaseUrl(lambda, {}, undefined), 'https://cloud.lambda.ai');
    assert.equal(backendBaseUrl(lambda, {}, 'http://127.0.0.1:9'), 'http://127.0.0.1:9');
    assert.equal(backendBaseUrl(lambda, { MLTOOLBOX_LAMBDA_URL: 'http://localhost:7' }, 'http://127.0.0.1:9'), 'http://localhost:7');
    assert.throws(() => backendBaseUrl(lambda, {}, 'http://proxy.example.com'), /unencrypted/);
  });
});

describe('lambda backend against its emulator', () => {
  let emulator: LambdaEmulator;
  before(async () => {
    emulator = await startLambdaEmulator({ apiKey: KEY, ip: SSH.host, bootMs: 1000, terminateMs: 40 });
  });
  after(() => emulator.close());

  it('lists offers in dollars, with no-capacity types kept as unavailable and CPU types dropped', async () => {
    const backend = new LambdaBackend(fastOptions(emulator.url).options);
    const offers = await backend.listOffers({});
    const h100 = offers.filter((o) => o.instanceType === 'gpu_1x_h100_pcie');
    assert.deepEqual(h100.map((o) => [o.region, o.pricePerHour, o.available]), [['us-east-1', 2.49, true], ['us-west-1', 2.49, true]]);
    assert.deepEqual(offers.filter((o) => o.instanceType === 'gpu_1x_gh200').map((o) => o.available), [false]);
    assert.ok(!offers.some((o) => o.instanceType.startsWith('cpu')));
    assert.deepEqual((await backend.listOffers({ gpu: 'h100', count: 8 })).map((o) => o.instanceType), ['gpu_8x_h100_sxm5']);
    assert.equal(emulator.requests.at(-1)!.headers.authorization, `Bearer ${KEY}`);
  });

  it('a bad key is PROVIDER_AUTH_FAILED with how to set it', async () => {
    const backend = new LambdaBackend(fastOptions(emulator.url, { apiKey: 'wrong' }).options);
    const error = await rejectsWith(backend.verify(), 'PROVIDER_AUTH_FAILED', /backend add lambda/);
    assert.equal(error.data?.providerCode, 'global/invalid-api-key');
  });

  it('registers the key once, launches one instance, ip null while booting, then active with ssh', async () => {
    const backend = new LambdaBackend(fastOptions(emulator.url).options);
    const key = await backend.ensureSshKey({ name: 'mltoolbox-a', publicKey: PUBLIC_KEY });
    const again = await backend.ensureSshKey({ name: 'mltoolbox-b', publicKey: `${PUBLIC_KEY.split(' ').slice(0, 2).join(' ')} other-comment` });
    assert.equal(again.ref, key.ref, 'the same key material is found again, not added twice');
    const offer = (await backend.listOffers({ gpu: 'H100', count: 1 }))[0]!;
    const { id } = await backend.launch({ offer, name: 'mlt-unit-1', sshKey: key });
    assert.match(id, /^[0-9a-f]{32}$/);
    const booting = await backend.get(id);
    assert.equal(booting?.state, 'pending');
    assert.equal(booting?.ssh, undefined, 'no address while booting');
    assert.equal(booting?.billing, true);
    const active = await waitUntil(backend, id, (i) => i?.state === 'running');
    assert.deepEqual(active?.ssh, { host: SSH.host, port: 22, user: 'ubuntu' });
    await backend.terminate(id);
    await waitUntil(backend, id, (i) => i === undefined);
    await backend.terminate(id); // already gone: still success
    assert.deepEqual(emulator.billable(), []);
  });

  it('insufficient capacity is PROVIDER_CAPACITY pointing at the next offer or search --watch', async () => {
    const backend = new LambdaBackend(fastOptions(emulator.url).options);
    const key = await backend.ensureSshKey({ name: 'mltoolbox-a', publicKey: PUBLIC_KEY });
    const offer = (await backend.listOffers({ gpu: 'GH200' }))[0]!;
    await rejectsWith(backend.launch({ offer: { ...offer, launch: { instance_type_name: 'gpu_1x_gh200', region_name: 'us-east-1' } }, name: 'x', sshKey: key }), 'PROVIDER_CAPACITY', /search --watch/);
  });

  it('a 429 with Cloudflare\'s HTML page is retried after Retry-After, then succeeds', async () => {
    const { options, waits } = fastOptions(emulator.url);
    emulator.inject('types', { status: 429, raw: CLOUDFLARE_429, contentType: 'text/html', headers: { 'retry-after': '3' } }, 2);
    const offers = await new LambdaBackend(options).listOffers({ gpu: 'A10' });
    assert.equal(offers.length, 1);
    assert.equal(waits.length, 2);
    assert.ok(waits.every((w) => w >= 3000 && w < 3300), `waited ${waits.join(', ')}`);
  });

  it('HTML 429 forever ends after the bounded attempts as PROVIDER_RATE_LIMITED, with the page\'s title, not its markup', async () => {
    const { options, waits } = fastOptions(emulator.url, { maxAttempts: 3 });
    emulator.inject('types', { status: 429, raw: CLOUDFLARE_429, contentType: 'text/html' }, 3);
    const error = await rejectsWith(new LambdaBackend(options).listOffers({}), 'PROVIDER_RATE_LIMITED');
    assert.match(error.message, /Cloudflare/);
    assert.doesNotMatch(error.message, /<html/);
    assert.equal(waits.length, 2);
  });

  it('5xx and resets are retried for reads with growing jittered backoff', async () => {
    const { options, waits } = fastOptions(emulator.url);
    emulator.inject('list', { status: 502, raw: 'bad gateway', contentType: 'text/plain' });
    emulator.inject('list', 'reset');
    emulator.inject('list', { status: 500, body: { error: { code: 'provider/internal-unavailable', message: 'Provider unavailable', suggestion: 'Try again shortly' } } });
    assert.ok(Array.isArray(await new LambdaBackend(options).list()));
    assert.equal(waits.length, 3);
    assert.ok(waits[0]! < waits[2]!, `backoff grows: ${waits.join(', ')}`);
  });

  it('a launch that got a 5xx is never sent twice (it may have created an instance)', async () => {
    const { options } = fastOptions(emulator.url);
    const backend = new LambdaBackend(options);
    const key = await backend.ensureSshKey({ name: 'mltoolbox-a', publicKey: PUBLIC_KEY });
    const offer = (await backend.listOffers({ gpu: 'A10' }))[0]!;
    const before = emulator.requests.filter((r) => r.path.endsWith('/launch')).length;
    emulator.inject('launch', { status: 503, raw: '<html><title>503 Service Unavailable</title></html>', contentType: 'text/html' });
    await rejectsWith(backend.launch({ offer, name: 'x', sshKey: key }), 'PROVIDER_UNAVAILABLE');
    assert.equal(emulator.requests.filter((r) => r.path.endsWith('/launch')).length - before, 1);
  });

  it('keeps launches 12 s apart (one per 12 s)', async () => {
    let clock = 1_000_000;
    const waits: number[] = [];
    const backend = new LambdaBackend({ apiKey: KEY, baseUrl: emulator.url, now: () => clock, sleep: async (ms) => { waits.push(ms); clock += ms; }, random: () => 0 });
    const key = await backend.ensureSshKey({ name: 'mltoolbox-a', publicKey: PUBLIC_KEY });
    const offer = (await backend.listOffers({ gpu: 'A10' }))[0]!;
    const a = await backend.launch({ offer, name: 'r1', sshKey: key });
    clock += 2000;
    const b = await backend.launch({ offer, name: 'r2', sshKey: key });
    assert.deepEqual(waits, [10_000]);
    await backend.terminate(a.id);
    await backend.terminate(b.id);
  });

  it('a launch another process made just before is answered with a JSON 429 that the client waits out', async () => {
    const limited = await startLambdaEmulator({ apiKey: KEY, launchIntervalMs: 400, rateLimitBody: 'json' });
    try {
      const backend = new LambdaBackend({ apiKey: KEY, baseUrl: limited.url, random: () => 0.5 });
      const key = await backend.ensureSshKey({ name: 'k', publicKey: PUBLIC_KEY });
      const offer = (await backend.listOffers({ gpu: 'A10' }))[0]!;
      await backend.launch({ offer, name: 'a', sshKey: key });
      const other = new LambdaBackend({ apiKey: KEY, baseUrl: limited.url, random: () => 0.5 }); // a second mltoolbox process
      await other.launch({ offer, name: 'b', sshKey: key }); // 429 first, then accepted
      const launches = limited.requests.filter((r) => r.path.endsWith('/launch')).length;
      assert.ok(launches >= 3, `the second launch was refused at least once (${launches} launch requests)`);
      assert.equal(limited.billable().length, 2);
    } finally {
      await limited.close();
    }
  });

  it('every call has a time limit', async () => {
    const { options } = fastOptions(emulator.url, { timeoutMs: 100, maxAttempts: 2 });
    emulator.inject('list', { delayMs: 400 }, 2);
    await rejectsWith(new LambdaBackend(options).list(), 'PROVIDER_UNAVAILABLE', /no response within/);
  });
});

describe('shadeform backend against its emulator', () => {
  let emulator: ShadeformEmulator;
  before(async () => {
    emulator = await startShadeformEmulator({ apiKey: KEY, ssh: SSH, bootMs: 1000, deleteMs: 40 });
  });
  after(() => emulator.close());

  it('a bad key ({message} 401, no error_code) is PROVIDER_AUTH_FAILED', async () => {
    const error = await rejectsWith(new ShadeformBackend(fastOptions(emulator.url, { apiKey: 'nope' }).options).verify(), 'PROVIDER_AUTH_FAILED', /Invalid API key/);
    assert.equal(error.data?.providerCode, undefined);
  });

  it('offers in dollars from cents, spot duplicates ignored', async () => {
    const offers = await new ShadeformBackend(fastOptions(emulator.url).options).listOffers({ gpu: 'A100' });
    assert.deepEqual(offers.map((o) => [o.id, o.pricePerHour, o.available]), [['shadeform:lambdalabs:A100_80G:us-west-2', 1.29, true]]);
    assert.equal(emulator.requests.at(-1)!.headers['x-api-key'], KEY);
  });

  it('create → pending states without ip → active with ip, port and user; delete answers an empty 200', async () => {
    const backend = new ShadeformBackend(fastOptions(emulator.url).options);
    const key = await backend.ensureSshKey({ name: 'mlt', publicKey: PUBLIC_KEY });
    assert.equal((await backend.ensureSshKey({ name: 'mlt', publicKey: PUBLIC_KEY })).ref, key.ref);
    const offer = (await backend.listOffers({ gpu: 'A6000' }))[0]!;
    const { id } = await backend.launch({ offer, name: 'mlt-sf-1', sshKey: key });
    const pending = await backend.get(id);
    assert.equal(pending?.state, 'pending');
    assert.equal(pending?.ssh, undefined);
    const active = await waitUntil(backend, id, (i) => i?.state === 'running');
    assert.deepEqual(active?.ssh, SSH);
    await backend.terminate(id);
    assert.equal((await backend.list()).find((i) => i.id === id)?.state, 'terminating', 'deleting instances are still listed');
    assert.deepEqual(emulator.billable(), [], 'billing stops at deleting');
    await waitUntil(backend, id, (i) => i === undefined);
  });

  it('ssh_port null on an active instance means 22', async () => {
    const quirky = await startShadeformEmulator({ apiKey: KEY, ssh: SSH, nullSshPort: true, bootMs: 10 });
    try {
      const backend = new ShadeformBackend(fastOptions(quirky.url).options);
      const key = await backend.ensureSshKey({ name: 'mlt', publicKey: PUBLIC_KEY });
      const { id } = await backend.launch({ offer: (await backend.listOffers({ gpu: 'A6000' }))[0]!, name: 'n', sshKey: key });
      const active = await waitUntil(backend, id, (i) => i?.state === 'running');
      assert.equal(active?.ssh?.port, 22);
    } finally {
      await quirky.close();
    }
  });

  it('409 OUT_OF_STOCK is capacity; 409 INSUFFICIENT_FUNDS is the account', async () => {
    const backend = new ShadeformBackend(fastOptions(emulator.url).options);
    const key = await backend.ensureSshKey({ name: 'mlt', publicKey: PUBLIC_KEY });
    const norway = (await backend.listOffers({ gpu: 'H100', region: 'norway-1' }))[0]!;
    assert.equal(norway.available, false);
    const capacity = await rejectsWith(backend.launch({ offer: norway, name: 'n', sshKey: key }), 'PROVIDER_CAPACITY');
    assert.equal(capacity.data?.providerCode, 'OUT_OF_STOCK');
    emulator.insufficientFunds = true;
    try {
      await rejectsWith(backend.launch({ offer: (await backend.listOffers({ gpu: 'A6000' }))[0]!, name: 'n', sshKey: key }), 'PROVIDER_ACCOUNT', /Balance must be/);
    } finally {
      emulator.insufficientFunds = false;
    }
    assert.deepEqual(emulator.billable(), []);
  });
});

describe('runpod backend against its emulator', () => {
  let emulator: RunpodEmulator;
  before(async () => {
    emulator = await startRunpodEmulator({ apiKey: KEY, ssh: SSH, bootMs: 1000 });
  });
  after(() => emulator.close());

  it('problem+json 401 is PROVIDER_AUTH_FAILED', async () => {
    await rejectsWith(new RunpodBackend(fastOptions(emulator.url, { apiKey: 'x' }).options).verify(), 'PROVIDER_AUTH_FAILED', /invalid api key/);
  });

  it('per-GPU float prices times the count; availability per data centre', async () => {
    const backend = new RunpodBackend(fastOptions(emulator.url).options);
    const offers = await backend.listOffers({ gpu: 'H100', count: 2 });
    const secure = offers.filter((o) => o.launch.cloud === 'SECURE');
    assert.deepEqual(secure.map((o) => [o.region, o.pricePerHour, o.available]), [['US-TX-3', 5.98, true], ['EU-RO-1', 5.98, false]]);
    assert.equal(offers[0]!.shape, 'container');
  });

  it('the pod is the container: image and PUBLIC_KEY at create, ssh.direct once RUNNING, stop → stopped, delete 204', async () => {
    const backend = new RunpodBackend(fastOptions(emulator.url).options);
    const key = await backend.ensureSshKey({ name: 'mlt', publicKey: PUBLIC_KEY });
    const offer = (await backend.listOffers({ gpu: 'RTX 4090' })).find((o) => o.available)!;
    const { id } = await backend.launch({ offer, name: 'mlt-rp-1', sshKey: key, image: 'busybox:latest' });
    assert.equal(emulator.pods().find((p) => p.id === id)?.env.PUBLIC_KEY, PUBLIC_KEY);
    assert.equal((await backend.get(id))?.ssh, undefined);
    const running = await waitUntil(backend, id, (i) => i?.state === 'running');
    assert.deepEqual(running?.ssh, SSH);
    await backend.stop(id);
    assert.equal((await backend.get(id))?.state, 'stopped');
    assert.deepEqual(emulator.billable(), []);
    await backend.terminate(id);
    assert.equal(await backend.get(id), undefined);
  });

  it('capacity exists only as words in a 400; other 400s stay invalid requests; 402 is the account', async () => {
    const backend = new RunpodBackend(fastOptions(emulator.url).options);
    const key = await backend.ensureSshKey({ name: 'mlt', publicKey: PUBLIC_KEY });
    const none = (await backend.listOffers({ gpu: 'H100', region: 'EU-RO-1' }))[0]!;
    await rejectsWith(backend.launch({ offer: none, name: 'n', sshKey: key, image: 'img' }), 'PROVIDER_CAPACITY', /no longer any instances/);
    await rejectsWith(backend.launch({ offer: { ...none, launch: { ...none.launch, gpuId: 'NVIDIA B300' } }, name: 'n', sshKey: key, image: 'img' }), 'PROVIDER_REQUEST_INVALID', /unknown GPU/);
    emulator.lowBalance = true;
    try {
      await rejectsWith(backend.launch({ offer: (await backend.listOffers({ gpu: 'RTX 4090' }))[0]!, name: 'n', sshKey: key, image: 'img' }), 'PROVIDER_ACCOUNT', /balance/);
    } finally {
      emulator.lowBalance = false;
    }
  });

  it('a 429 with Retry-After (integer seconds) is waited out', async () => {
    const { options, waits } = fastOptions(emulator.url);
    emulator.inject('list', { status: 429, contentType: 'application/problem+json', body: { title: 'Too Many Requests', status: 429, detail: 'rate limit exceeded for the minute window' }, headers: { 'Retry-After': '2' } });
    await new RunpodBackend(options).list();
    assert.equal(waits.length, 1);
    assert.ok(waits[0]! >= 2000);
  });
});
