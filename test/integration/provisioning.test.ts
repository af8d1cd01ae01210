import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, useHarness, type Sandbox, provisionProjectYaml } from '../harness/index.ts';
import { startLambdaEmulator, type LambdaEmulator } from '../emulators/lambda.ts';
import { startRunpodEmulator, type RunpodEmulator } from '../emulators/runpod.ts';
import { startShadeformEmulator, type ShadeformEmulator } from '../emulators/shadeform.ts';

/**
 * Provisioning end to end through the built binary, against the three
 * provider emulators (HTTP on 127.0.0.1) whose instances' SSH endpoint is
 * the harness sshd: provision ends in a real connect. The zero-orphan
 * promise is checked the way a user would care about it: after every
 * injected failure the emulators bill for nothing.
 */
const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));
const KEYS = { lambda: 'secret_lambda.key', shadeform: 'sf-key', runpod: 'rp-key' };

describe('provisioning', async () => {
  const harness = await useHarness();
  const ssh = { host: harness.ssh.host, port: harness.ssh.port, user: harness.ssh.user };
  let sandbox: Sandbox;
  let lambda: LambdaEmulator;
  let shadeform: ShadeformEmulator;
  let runpod: RunpodEmulator;
  const mlt = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runMltoolbox(['-C', sandbox.projectDir, ...args], { env: { ...sandbox.env, ...options.env }, cwd: sandbox.root, ...(options.input !== undefined ? { input: options.input } : {}), timeoutMs: 180_000 });
  const json = async (args: string[], options: { env?: NodeJS.ProcessEnv } = {}) => {
    const result = await mlt([...args, '--json'], options);
    assert.equal(result.code, 0, `${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const failure = async (args: string[], code: string) => {
    const result = await mlt([...args, '--json']);
    const envelope = JSON.parse(result.stdout || '{}');
    assert.equal(envelope.error?.code, code, `${args.join(' ')}: expected ${code}, got exit ${result.code}:\n${result.stderr}\n${result.stdout}`);
    return { result, envelope };
  };
  const billable = () => [...lambda.billable(), ...shadeform.billable(), ...runpod.billable()];
  const writeConfig = (extra: string[] = [], image = harness.docker.baseImage) => writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'),
    provisionProjectYaml(harness, { name: 'prov', image, sections: ['agent:', `  install_dir: ${join(sandbox.root, 'agent-bin')}`], extra }));

  before(async () => {
    lambda = await startLambdaEmulator({ apiKey: KEYS.lambda, ip: ssh.host, bootMs: 300 });
    shadeform = await startShadeformEmulator({ apiKey: KEYS.shadeform, ssh, bootMs: 400 });
    runpod = await startRunpodEmulator({ apiKey: KEYS.runpod, ssh, bootMs: 300 });
    sandbox = await createSandbox({
      harness,
      env: {
        MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'provisioning-test',
        MLTOOLBOX_LAMBDA_URL: lambda.url, MLTOOLBOX_SHADEFORM_URL: shadeform.url, MLTOOLBOX_RUNPOD_URL: runpod.url,
        MLTOOLBOX_PROVISION_POLL_MS: '150',
      },
    });
    await writeConfig();
  });

  after(async () => {
    await mlt(['instances', 'terminate', '--all', '--yes']);
    await mlt(['down']).catch(() => {});
    await Promise.all([lambda.close(), shadeform.close(), runpod.close()]);
    // The harness host is this machine: the idle watcher's files of the instances above go too.
    const idleDir = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'mltoolbox', 'idle');
    await run('sh', ['-c', 'rm -f "$1"/mlt-prov-*.*', 'sh', idleDir]);
  });

  it('backend add verifies the key with one call and stores it; a bad key stores nothing', async () => {
    const bad = await mlt(['backend', 'add', 'shadeform', '--json'], { input: 'wrong-key' });
    assert.equal(bad.code, 4, bad.stderr);
    assert.equal(JSON.parse(bad.stdout).error.code, 'PROVIDER_AUTH_FAILED');
    for (const [name, key] of Object.entries(KEYS)) {
      const added = await mlt(['backend', 'add', name, '--json'], { input: `${key}\n` });
      assert.equal(added.code, 0, added.stderr);
    }
    const listed = await json(['backend', 'list']);
    assert.deepEqual(listed.backends.map((b: { name: string; auth: string }) => [b.name, b.auth]), [['lambda', 'ok'], ['shadeform', 'ok'], ['runpod', 'ok']]);
    const secrets = await json(['secret', 'list']);
    assert.ok(!JSON.stringify(secrets).includes(KEYS.shadeform), 'secret list shows names only');
    const dataFiles = await run('grep', ['-r', '-l', KEYS.shadeform, sandbox.root]);
    assert.equal(dataFiles.stdout.trim(), '', 'the API key is in no plaintext file');
    // --url (a proxy) is kept with the backend and used by the next commands, without the environment variable.
    const noEnv = { env: { MLTOOLBOX_LAMBDA_URL: '' } };
    const viaUrl = await mlt(['backend', 'add', 'lambda', '--url', lambda.url, '--json'], { input: KEYS.lambda, ...noEnv });
    assert.equal(viaUrl.code, 0, viaUrl.stderr);
    const lambdaRow = (await json(['backend', 'list'], noEnv)).backends.find((b: { name: string }) => b.name === 'lambda');
    assert.deepEqual([lambdaRow.url, lambdaRow.auth], [lambda.url, 'ok']);
    assert.deepEqual((await json(['search', '--backend', 'lambda', '--gpu', 'A10'], noEnv)).warnings, []);
  });

  it('search asks the three backends at once, cheapest first; a failing backend is a warning row', async () => {
    const all = await json(['search', '--gpu', 'H100']);
    assert.deepEqual(all.backends, ['lambda', 'shadeform', 'runpod']);
    const prices = all.offers.map((o: { pricePerHour: number }) => o.pricePerHour);
    assert.deepEqual(prices, [...prices].sort((a, b) => a - b));
    assert.deepEqual(new Set(all.offers.map((o: { backend: string }) => o.backend)), new Set(['lambda', 'shadeform', 'runpod']));
    assert.ok(all.offers.every((o: { available: boolean }) => o.available));
    // --max-price and --region narrow the same live answer.
    type Row = { id: string; pricePerHour: number; region: string };
    const ids = (offers: Row[]) => offers.map((o) => o.id).sort();
    const limit = prices[Math.floor(prices.length / 2)];
    const cheap = await json(['search', '--gpu', 'H100', '--max-price', String(limit)]);
    assert.ok(cheap.offers.length > 0 && cheap.offers.length < all.offers.length, `--max-price ${limit}: ${cheap.offers.length} of ${all.offers.length}`);
    assert.deepEqual(ids(cheap.offers), ids(all.offers.filter((o: Row) => o.pricePerHour <= limit)));
    const region = (all.offers as Row[]).at(-1)!.region;
    const inRegion = await json(['search', '--gpu', 'H100', '--region', region]);
    assert.ok(inRegion.offers.length > 0 && inRegion.offers.every((o: Row) => o.region === region), JSON.stringify(inRegion.offers));
    assert.deepEqual(ids(inRegion.offers), ids(all.offers.filter((o: Row) => o.region === region)));
    runpod.inject('types', { status: 503, contentType: 'application/problem+json', body: { title: 'Service Unavailable', status: 503, detail: 'maintenance' } }, 20);
    try {
      const partial = await json(['search', '--gpu', 'H100']);
      assert.deepEqual(partial.warnings.map((w: { backend: string; code: string }) => [w.backend, w.code]), [['runpod', 'PROVIDER_UNAVAILABLE']]);
      assert.ok(partial.offers.length > 0 && partial.offers.every((o: { backend: string }) => o.backend !== 'runpod'));
      const human = await mlt(['search', '--gpu', 'H100']);
      assert.equal(human.code, 0);
      assert.match(human.stdout, /runpod .* error .*PROVIDER_UNAVAILABLE/);
    } finally {
      runpod.clearFaults('types');
    }
  });

  it('provision launches the cheapest fitting offer, pins the host key on first contact, saves a remote and ends in a real connect', async () => {
    const result = await json(['provision', '--backend', 'shadeform', '--gpu', 'A6000', '--name', 'mlt-prov-a', '--idle-timeout', '45', '--yes', '--no-attach']);
    let checked = false;
    try {
      assert.equal(result.instance.name, 'mlt-prov-a');
      assert.equal(result.instance.state, 'running');
      assert.equal(result.instance.pricePerHour, 0.57);
      assert.equal(result.connect.container.action, 'created');
      assert.equal(billable().length, 1);
      const pinned = await readFile(join(sandbox.env.XDG_DATA_HOME!, 'mltoolbox', 'known_hosts'), 'utf8');
      assert.match(pinned, /^mlt-prov-a ssh-ed25519 /m, 'the host key is stored under the instance name');
      const exec = await mlt(['exec', 'mlt-prov-a', '--', 'sh', '-c', 'echo inside:$(pwd)']);
      assert.equal(exec.code, 0, exec.stderr);
      assert.match(exec.stdout, /inside:\/workspace/);
      const listed = await json(['instances', 'list']);
      const row = listed.instances.find((i: { name: string }) => i.name === 'mlt-prov-a');
      assert.equal(row.backend, 'shadeform');
      assert.equal(row.providerState, 'active');
      assert.equal(row.idle.timeoutMinutes, 45, '--idle-timeout wins over the default');
      assert.ok(row.spendUsd >= 0);
      const status = await json(['status', 'mlt-prov-a']);
      assert.equal(status.instance.backend, 'shadeform');
      assert.equal(status.instance.idle.timeoutMinutes, 45);
      assert.equal(status.instance.idle.action, 'stop');
      assert.equal(typeof status.instance.spendUsd, 'number');
      await json(['down', 'mlt-prov-a']);
      checked = true;
    } finally {
      // A failed assertion must not leave it billing into the next tests.
      if (!checked) await mlt(['instances', 'terminate', 'mlt-prov-a', '--yes']);
    }
    const ended = await json(['instances', 'terminate', 'mlt-prov-a', '--yes']);
    assert.deepEqual(ended.terminated.map((t: { name: string }) => t.name), ['mlt-prov-a']);
    assert.deepEqual(billable(), []);
    const remotes = await json(['remote', 'list']);
    assert.ok(!remotes.remotes.some((r: { alias: string }) => r.alias === 'mlt-prov-a'), 'the remote of a terminated instance is forgotten');
  });

  it('lambda: provision ends in a real connect to the harness sshd, the host key pinned under the instance name', async () => {
    // Lambda's VMs log in as ubuntu on port 22; provision.backends.lambda.ssh_user/ssh_port point it at the harness sshd.
    const result = await json(['provision', '--backend', 'lambda', '--gpu', 'A10', '--name', 'mlt-prov-l', '--idle-timeout', '0', '--yes', '--no-attach']);
    try {
      assert.equal(result.instance.backend, 'lambda');
      assert.equal(result.instance.state, 'running');
      assert.deepEqual([result.instance.sshHost, result.instance.sshPort, result.instance.sshUser], [ssh.host, ssh.port, ssh.user]);
      assert.equal(result.connect.container.action, 'created');
      assert.equal(result.connect.idle.effectiveAction, 'none', '--idle-timeout 0: nothing is watched');
      const pinned = await readFile(join(sandbox.env.XDG_DATA_HOME!, 'mltoolbox', 'known_hosts'), 'utf8');
      assert.match(pinned, /^mlt-prov-l ssh-ed25519 /m);
      const exec = await mlt(['exec', 'mlt-prov-l', '--', 'sh', '-c', 'echo lambda:$(pwd)']);
      assert.equal(exec.code, 0, exec.stderr);
      assert.match(exec.stdout, /lambda:\/workspace/);
      await json(['down', 'mlt-prov-l']);
    } finally {
      await mlt(['instances', 'terminate', 'mlt-prov-l', '--yes']);
    }
    assert.deepEqual(billable(), []);
  });

  it('search --watch polls until the emulator has capacity, notifies through the slack plugin, and --provision launches it', async () => {
    const posted: string[] = [];
    const webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        posted.push((JSON.parse(body) as { text: string }).text);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const secret = await mlt(['secret', 'set', 'slack_webhook'], { input: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/services/T/B/x` });
    assert.equal(secret.code, 0, secret.stderr);
    await writeFile(join(sandbox.projectDir, 'mltoolbox.local.yaml'), 'plugins: [slack]\nslack:\n  backoff_ms: 50\n');
    const typesAsked = () => lambda.requests.filter((r) => r.path === '/api/v1/instance-types').length;
    const before = typesAsked();
    try {
      const started = Date.now();
      const watching = mlt(['search', '--watch', '--gpu', 'GH200', '--backend', 'lambda', '--interval', '10', '--timeout', '2', '--provision', '--json']);
      for (let i = 0; i < 200 && typesAsked() === before; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(typesAsked() > before, 'the first search was sent');
      lambda.setCapacity('gpu_1x_gh200', ['us-east-1']);
      const result = await watching;
      assert.equal(result.code, 0, result.stderr);
      const found = JSON.parse(result.stdout).result;
      assert.equal(found.rounds, 2, 'found on the second poll');
      assert.ok(Date.now() - started >= 10_000, 'the polite interval was kept');
      assert.match(result.stderr, /search 1: no available offer yet; next in 10 s/);
      assert.match(result.stderr, /GPU available: 1x GH200 \(96 GB\) on lambda \(us-east-1\)/);
      assert.equal(found.offers[0].id, 'lambda:gpu_1x_gh200:us-east-1');
      assert.equal(found.provisioned.instanceType, 'gpu_1x_gh200');
      assert.equal(found.provisioned.state, 'running');
      assert.ok(posted.some((t) => /^:eyes: GPU available: \*prov\*/.test(t) && t.includes('GH200')), `slack got: ${posted.join(' | ')}`);
      assert.ok(posted.some((t) => t.startsWith(':white_check_mark: GPU host provisioned')), 'provisionComplete reached slack too');
      await json(['instances', 'terminate', found.provisioned.name, '--yes']);
    } finally {
      lambda.setCapacity('gpu_1x_gh200', []);
      await run('rm', ['-f', join(sandbox.projectDir, 'mltoolbox.local.yaml')]);
      await new Promise<void>((resolve) => webhook.close(() => resolve()));
    }
    assert.deepEqual(billable(), []);
    const bounded = await mlt(['search', '--watch', '--gpu', 'GH200', '--backend', 'lambda', '--interval', '10', '--timeout', '0.1', '--json']);
    assert.equal(JSON.parse(bounded.stdout).error.code, 'NO_OFFER', 'bounded: gives up after --timeout');
  });

  it('a plugin can add a backend: it shows in backend list and search like the built-ins', async () => {
    const pluginsDir = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'plugins');
    await run('mkdir', ['-p', pluginsDir]);
    await writeFile(join(pluginsDir, 'mycloud.mjs'), `export default {
      name: 'mycloud', version: '1.0.0', apiVersion: '1.2',
      backends: [{
        name: 'mycloud', title: 'My Cloud', defaultBaseUrl: 'https://api.mycloud.example', capabilities: { stop: false, shape: 'vm' },
        create: ({ apiKey }) => ({
          name: 'mycloud', capabilities: { stop: false, shape: 'vm' },
          async verify() { if (apiKey !== 'mc-key') throw Object.assign(new Error('bad key'), { hint: 'x' }); },
          async listOffers() { return [{ backend: 'mycloud', id: 'mycloud:h100:lab', instanceType: 'h100.1', gpu: 'H100', gpuCount: 1, region: 'lab', pricePerHour: 0.5, available: true, shape: 'vm', launch: {} }]; },
          async ensureSshKey(key) { return { ref: 'k', publicKey: key.publicKey }; },
          async launch() { throw new Error('not in this test'); },
          async get() { return undefined; }, async list() { return []; }, async terminate() {},
        }),
      }],
    };\n`);
    await writeFile(join(sandbox.projectDir, 'mltoolbox.local.yaml'), 'plugins: [mycloud]\n');
    try {
      const added = await mlt(['backend', 'add', 'mycloud', '--json'], { input: 'mc-key' });
      assert.equal(added.code, 0, added.stderr);
      const listed = await json(['backend', 'list', '--offline']);
      assert.ok(listed.backends.some((b: { name: string; configured: boolean }) => b.name === 'mycloud' && b.configured));
      const found = await json(['search', '--gpu', 'H100']);
      assert.equal(found.offers[0].id, 'mycloud:h100:lab', 'the cheapest offer, from the plugin, first');
      assert.ok(found.backends.includes('mycloud') && found.backends.includes('lambda'));
      await json(['backend', 'remove', 'mycloud']);
    } finally {
      await run('rm', ['-f', join(sandbox.projectDir, 'mltoolbox.local.yaml')]);
    }
  });

  it('without a terminal, provision needs --yes before it spends money', async () => {
    const before = shadeform.requests.filter((r) => r.path === '/instances/create').length;
    const { result } = await failure(['provision', '--backend', 'shadeform', '--gpu', 'A6000'], 'CONFIRMATION_REQUIRED');
    assert.equal(result.code, 2);
    assert.match(JSON.parse(result.stdout).error.message, /Launch 1x A6000 on shadeform \(kansascity-usa-1\) at \$0\.57\/h/);
    assert.equal(shadeform.requests.filter((r) => r.path === '/instances/create').length, before, 'nothing was launched');
  });

  it('provision keeps to provision.max_price: no offer under it launches nothing', async () => {
    const cheapest = (await json(['search', '--gpu', 'H100'])).offers[0].pricePerHour;
    const launches = () => [
      ...lambda.requests.filter((r) => r.path.endsWith('/instance-operations/launch')),
      ...shadeform.requests.filter((r) => r.path === '/instances/create'),
      ...runpod.requests.filter((r) => r.method === 'POST' && r.path === '/v2/pods'),
    ].length;
    const before = launches();
    const limit = Math.round((cheapest - 0.01) * 100) / 100;
    await writeConfig([`  max_price: ${limit}`]);
    try {
      const { envelope } = await failure(['provision', '--gpu', 'H100', '--yes', '--no-connect'], 'NO_OFFER');
      assert.match(envelope.error.message, new RegExp(`at most \\$${limit}/h`));
    } finally {
      await writeConfig();
    }
    assert.equal(launches(), before, 'nothing was launched');
    assert.deepEqual(billable(), []);
  });

  it('a capacity refusal at launch falls back to the next offer', async () => {
    // Listed as available, refused at launch (a listing is not a reservation): the next offer is launched.
    shadeform.inject('launch', { status: 409, body: { error_code: 'OUT_OF_STOCK', error: 'Out of stock' } });
    const result = await json(['provision', '--backend', 'shadeform', '--gpu', 'H100', '--name', 'mlt-prov-fallback', '--yes', '--no-connect']);
    try {
      assert.equal(result.instance.instanceType, 'H100x8 (crusoe)', 'the cheapest (hyperstack H100) was out of stock');
      assert.equal(billable().length, 1);
      const all = await json(['instances', 'list', '--all']);
      assert.equal(result.instance.name, 'mlt-prov-fallback', 'the name asked for goes to the instance that exists');
      const refused = all.instances.find((i: { name: string }) => i.name === 'mlt-prov-fallback-refused-1');
      assert.equal(refused.state, 'failed', 'the refused attempt is in the ledger, ended');
      assert.match(refused.error, /Out of stock/);
    } finally {
      await json(['instances', 'terminate', result.instance.name, '--yes']);
    }
    assert.deepEqual(billable(), []);
  });

  it('lambda: a Cloudflare HTML 429 is waited out; capacity refused on every offer ends as PROVIDER_CAPACITY, launches 12 s apart, nothing billing', async () => {
    lambda.inject('types', { status: 429, raw: '<html><head><title>Access denied | Error 1015</title></head><body>banned you temporarily</body></html>', contentType: 'text/html', headers: { 'retry-after': '1' } });
    const found = await json(['search', '--gpu', 'H100', '--count', '1', '--backend', 'lambda']);
    assert.deepEqual(found.offers.map((o: { region: string }) => o.region), ['us-east-1', 'us-west-1']);
    lambda.inject('launch', { status: 400, body: { error: { code: 'instance-operations/launch/insufficient-capacity', message: 'Not enough capacity to fulfill launch request.' } } }, 2);
    const earlier = lambda.requests.filter((r) => r.path.endsWith('/instance-operations/launch')).length;
    const started = Date.now();
    const { envelope } = await failure(['provision', '--backend', 'lambda', '--gpu', 'H100', '--count', '1', '--yes', '--no-connect'], 'PROVIDER_CAPACITY');
    assert.ok(Date.now() - started >= 12_000, 'the second launch waited for Lambda\'s 12 s launch limit');
    assert.equal(envelope.error.data.attempts.length, 2);
    assert.match(envelope.error.hint, /search --watch/);
    const launches = lambda.requests.filter((r) => r.path.endsWith('/instance-operations/launch')).slice(earlier);
    assert.equal(launches.length, 2);
    assert.equal((launches[0]!.body as { ssh_key_names: string[] }).ssh_key_names.length, 1);
    assert.deepEqual(billable(), []);
  });

  it('on RunPod the pod is the container: connect syncs into it and runs commands there, without Docker', async () => {
    const workdir = join(sandbox.root, 'pod-workspace');
    await writeFile(join(sandbox.projectDir, 'mltoolbox.local.yaml'), `project:\n  workdir: ${workdir}\n`);
    await writeFile(join(sandbox.projectDir, 'train.py'), 'print("pod")\n');
    try {
      const result = await json(['provision', '--backend', 'runpod', '--gpu', 'RTX 4090', '--name', 'mlt-prov-pod', '--yes', '--no-attach']);
      assert.equal(result.instance.shape, 'container');
      assert.equal(result.connect.container.name, 'mlt-prov-pod');
      assert.equal(result.connect.image, harness.docker.baseImage);
      assert.equal(runpod.pods().find((p) => p.name === 'mlt-prov-pod')?.env.PUBLIC_KEY?.split(' ')[1], (await readFile(`${harness.ssh.identityFile}.pub`, 'utf8')).split(' ')[1]);
      const exec = await mlt(['exec', 'mlt-prov-pod', '--', 'sh', '-c', 'pwd; cat train.py']);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout.trim().split('\n').at(-1), 'print("pod")');
      const containers = await run('docker', ['ps', '-a', '--filter', 'label=dev.mltoolbox.project-path', '--format', '{{.Names}}']);
      assert.ok(!containers.stdout.includes('mlt-prov-pod'), 'no Docker container was made for a pod');
    } finally {
      await run('rm', ['-f', join(sandbox.projectDir, 'mltoolbox.local.yaml')]);
      await json(['instances', 'terminate', 'mlt-prov-pod', '--yes']);
    }
    assert.deepEqual(billable(), []);
  });

  it('instances stop: a RunPod pod stops billing; Lambda cannot stop; --all stops what can and lists what it skipped', async () => {
    // --offer launches exactly the offer named (here the dearest RunPod one, not the cheapest).
    const offer = (await json(['search', '--backend', 'runpod', '--gpu', 'RTX 4090'])).offers.at(-1);
    const pod = await json(['provision', '--offer', offer.id, '--name', 'mlt-prov-stop', '--idle-timeout', '0', '--yes', '--no-connect']);
    try {
      assert.deepEqual([pod.instance.offerId, pod.instance.pricePerHour], [offer.id, offer.pricePerHour]);
      await json(['provision', '--backend', 'lambda', '--gpu', 'A10', '--name', 'mlt-prov-nostop', '--idle-timeout', '0', '--yes', '--no-connect']);
      const { result } = await failure(['instances', 'stop', 'mlt-prov-nostop'], 'INSTANCE_STOP_UNSUPPORTED');
      assert.equal(result.code, 1);
      assert.equal(runpod.billable().length, 1, 'a refusal stops nothing');
      const all = await json(['instances', 'stop', '--all', '--yes']);
      assert.deepEqual(all.stopped, ['mlt-prov-stop']);
      assert.deepEqual(all.skipped.map((s: { name: string }) => s.name), ['mlt-prov-nostop']);
      assert.deepEqual(runpod.billable(), [], 'the pod no longer bills');
      assert.equal(lambda.billable().length, 1, 'the Lambda VM was left alone');
      const rows = (await json(['instances', 'list'])).instances;
      const row = rows.find((i: { name: string }) => i.name === 'mlt-prov-stop');
      assert.deepEqual([row.state, row.providerState, row.spendUsd], ['stopped', 'EXITED', 0]);
      const again = await json(['instances', 'stop', 'mlt-prov-stop']);
      assert.deepEqual([again.stopped, again.skipped], [[], [{ name: 'mlt-prov-stop', why: 'already stopped' }]]);
    } finally {
      await mlt(['instances', 'terminate', '--all', '--yes']);
    }
    assert.deepEqual(billable(), []);
  });

  describe('an injected failure at each step leaves 0 billable instances', () => {
    it('the launch answer is lost: the instance is found by name and terminated', async () => {
      shadeform.inject('launch', 'drop-response');
      await failure(['provision', '--backend', 'shadeform', '--gpu', 'A6000', '--yes', '--no-connect'], 'PROVIDER_UNAVAILABLE');
      assert.ok(shadeform.instances().length > 0, 'the emulator did create it');
      assert.deepEqual(billable(), []);
    });

    it('the provider fails while we wait for active', async () => {
      shadeform.inject('get', { status: 502, raw: '<html><title>502 Bad Gateway</title></html>', contentType: 'text/html' }, 50);
      try {
        await failure(['provision', '--backend', 'shadeform', '--gpu', 'A6000', '--yes', '--no-connect'], 'PROVIDER_UNAVAILABLE');
      } finally {
        shadeform.clearFaults('get');
      }
      assert.deepEqual(billable(), []);
    });

    it('SSH refuses the key', async () => {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sandbox.root, 'other_key')]);
      await writeFile(join(sandbox.projectDir, 'mltoolbox.local.yaml'), `provision:\n  ssh_public_key: ${join(sandbox.root, 'other_key.pub')}\n`);
      try {
        await failure(['provision', '--backend', 'runpod', '--gpu', 'RTX 4090', '--yes', '--no-connect'], 'SSH_AUTH_FAILED');
      } finally {
        await run('rm', ['-f', join(sandbox.projectDir, 'mltoolbox.local.yaml')]);
      }
      assert.deepEqual(billable(), []);
    });

    it('the connect after provisioning fails', async () => {
      await writeConfig([], 'mltoolbox-test/does-not-exist:1');
      try {
        const { result } = await failure(['provision', '--backend', 'shadeform', '--gpu', 'A6000', '--yes', '--no-attach'], 'IMAGE_NOT_FOUND');
        assert.match(result.stderr, /terminating mlt-prov-/);
      } finally {
        await writeConfig();
      }
      assert.deepEqual(billable(), []);
    });

    it('Ctrl-C while waiting for the instance terminates it and exits 130', async () => {
      const slow = await startShadeformEmulator({ apiKey: KEYS.shadeform, ssh, bootMs: 120_000 });
      try {
        const child = spawn(process.execPath, [BIN, '-C', sandbox.projectDir, 'provision', '--backend', 'shadeform', '--gpu', 'A6000', '--yes', '--no-connect'], {
          env: { ...sandbox.env, MLTOOLBOX_SHADEFORM_URL: slow.url }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        for (let i = 0; i < 200 && slow.billable().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(slow.billable().length, 1, `the launch happened:\n${stderr}`);
        child.kill('SIGINT');
        assert.equal(await exited, 130, stderr);
        assert.deepEqual(slow.billable(), [], stderr);
        assert.match(stderr, /terminating/);
      } finally {
        await slow.close();
      }
    });

    it('kill -9 while waiting leaves a stray that the next instances list finds and terminates', async () => {
      const slow = await startRunpodEmulator({ apiKey: KEYS.runpod, ssh, bootMs: 120_000 });
      const env = { MLTOOLBOX_RUNPOD_URL: slow.url };
      try {
        const child = spawn(process.execPath, [BIN, '-C', sandbox.projectDir, 'provision', '--backend', 'runpod', '--gpu', 'RTX 4090', '--yes', '--no-connect'], {
          env: { ...sandbox.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'],
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        for (let i = 0; i < 200 && slow.billable().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(slow.billable().length, 1);
        child.kill('SIGKILL');
        await exited;
        assert.equal(slow.billable().length, 1, 'a crash cannot clean up');
        // Without a terminal and without --terminate-strays, the list marks the stray and leaves it.
        const marked = await mlt(['instances', 'list', '--json'], { env });
        assert.equal(marked.code, 0, marked.stderr);
        assert.ok(JSON.parse(marked.stdout).result.instances.some((i: { backend: string; stray: boolean }) => i.backend === 'runpod' && i.stray), marked.stdout);
        assert.match(marked.stderr, /stray instance\(s\) may bill/);
        assert.equal(slow.billable().length, 1);
        const listed = await json(['instances', 'list', '--terminate-strays', '--yes'], { env });
        assert.equal(listed.terminatedStrays.length, 1);
        assert.deepEqual(slow.billable(), []);
      } finally {
        await slow.close();
      }
    });
  });
});
