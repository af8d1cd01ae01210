import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { containerName, projectIdentity } from '../../src/orchestrators/connection/project-identity.ts';
import { createSandbox, run, runMltoolbox, useHarness, waitFor, type Sandbox } from '../harness/index.ts';
import { startDaemon, startPostgres, startRelay, type RunningProcess } from '../harness/relay.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/relay/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));

interface HostBody {
  name: string;
  online: boolean;
  metrics: { cpuPercent: number | null; memoryTotalBytes: number | null; gpus: { name: string; utilizationPercent: number | null; memoryTotalMiB: number | null }[] } | null;
  containers: { id: string; name: string; project: string; state: string }[];
}

/** A raw HTTP request (any method, optional token), for the refusal sweep. */
function httpStatus(url: string, method: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket upgrade's HTTP answer: 101 when accepted. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'mlt.relay.v1', ...headers },
      timeout: 5000,
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The relay through the built binaries: `relay serve` (SQLite, then
 * PostgreSQL), `relay token`, a real `mlt daemon` reading a fake nvidia-smi
 * and the real Docker Engine, the dashboard in headless Chromium, and
 * `status` going through the relay or falling back to SSH.
 */
describe('relay', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let daemon: RunningProcess;
  let userToken: string;
  let agentToken: string;
  const containers: string[] = [];
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const managed = `mlt-relay-test-${suffix}`;
  const unmanaged = `mlt-relay-other-${suffix}`;
  const mlt = (args: string[], input?: string) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
  const api = async (path: string, init: RequestInit = {}) => fetch(`${relay.url}${path}`, { ...init, headers: { authorization: `Bearer ${userToken}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers }, signal: AbortSignal.timeout(10_000) });
  const host = async (): Promise<HostBody> => (await (await api('/api/v1/hosts/box1')).json()) as HostBody;

  before(async () => {
    sandbox = await createSandbox({ harness, env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'relay-test-passphrase' } });
    const created = await mlt(['relay', 'token', 'create', '--name', 'tester']);
    assert.equal(created.code, 0, created.stderr);
    userToken = created.stdout.trim();
    agentToken = (await mlt(['relay', 'token', 'create', '--name', 'agent@box1', '--host', 'box1'])).stdout.trim();
    relay = await startRelay(sandbox.env);
    // Two containers: one mltoolbox manages (labels), one it does not. --rm and a bounded life: nothing is
    // left behind even if this process dies. (No sandbox project-path label: a concurrent suite's harness
    // teardown removes every sandbox container on the machine, and these must live as long as this file.)
    const label = ['--rm', '--label', 'mltoolbox-test=relay'];
    const ticker = 'i=0; while [ $i -lt 3000 ]; do echo "tick $i"; i=$((i+1)); sleep 0.3; done';
    await run('docker', ['run', '-d', '--name', managed, ...label, '--label', 'mltoolbox.managed=true', '--label', `mltoolbox.project=${projectIdentity(sandbox.projectDir, 'relaydemo').slug}`, '--stop-timeout', '1', harness.docker.baseImage, 'sh', '-c', ticker], { timeoutMs: 60_000 });
    containers.push(managed);
    await run('docker', ['run', '-d', '--name', unmanaged, ...label, harness.docker.baseImage, 'sleep', '900'], { timeoutMs: 60_000 });
    containers.push(unmanaged);
    daemon = startDaemon({ ...sandbox.env, DOCKER_HOST: `unix://${harness.docker.socketPath}` }, { url: relay.url, token: agentToken, fixture: 'h100x8.csv' });
    await waitFor('box1 online with GPU figures', async () => {
      const body = await host();
      return body.online && (body.metrics?.gpus.length ?? 0) > 0 && body.containers.some((c) => c.name === managed);
    }, 20_000);
  });

  after(async () => {
    await daemon?.stop();
    await relay?.stop();
    if (containers.length) await run('docker', ['rm', '-f', ...containers], { timeoutMs: 60_000 });
  });

  it('refuses every route and socket without a valid token (0 accepted)', async () => {
    const openapi = (await (await api('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(openapi.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path: path.replace('{host}', 'box1').replace('{container}', managed) })));
    routes.push({ method: 'GET', path: '/api/v1/openapi.json' }, { method: 'GET', path: '/api/v1/no-such-route' });
    assert.ok(routes.length >= 8, `the OpenAPI document lists the routes (${routes.length})`);
    const forged = `mltr_u_${'A'.repeat(12)}_${'B'.repeat(43)}`;
    const bad: Record<string, Record<string, string>> = {
      none: {},
      malformed: { authorization: 'Bearer nope' },
      forged: { authorization: `Bearer ${forged}` },
      basic: { authorization: `Basic ${Buffer.from(`x:${userToken}`).toString('base64')}` },
      'token in query only': {},
    };
    const accepted: string[] = [];
    let attempts = 0;
    for (const route of routes) {
      for (const [kind, headers] of Object.entries(bad)) {
        const path = kind === 'token in query only' ? `${route.path}?token=${userToken}` : route.path;
        const status = await httpStatus(`${relay.url}${path}`, route.method, headers, route.method === 'POST' ? JSON.stringify({ argv: ['true'] }) : undefined);
        attempts += 1;
        if (status !== 401) accepted.push(`${kind} ${route.method} ${route.path} → ${status}`);
      }
      // An agent token is a host's, not a user's: refused on every user route.
      const status = await httpStatus(`${relay.url}${route.path}`, route.method, { authorization: `Bearer ${agentToken}` }, route.method === 'POST' ? JSON.stringify({ argv: ['true'] }) : undefined);
      attempts += 1;
      if (route.path !== '/api/v1/no-such-route' && status !== 403) accepted.push(`agent token ${route.method} ${route.path} → ${status}`);
    }
    for (const socket of ['/api/v1/agent', '/api/v1/events']) {
      const attemptsBySocket: Record<string, string>[] = [{}, { authorization: `Bearer ${forged}` }, { 'sec-websocket-protocol': `mlt.relay.v1, bearer.${forged}` }];
      for (const headers of attemptsBySocket) {
        const status = await upgradeStatus(`${relay.url}${socket}`, headers);
        attempts += 1;
        if (status !== 401) accepted.push(`socket ${socket} ${JSON.stringify(headers)} → ${status}`);
      }
    }
    // Scopes: a user token cannot pose as an agent, an agent token cannot watch the dashboard.
    assert.equal(await upgradeStatus(`${relay.url}/api/v1/agent`, { authorization: `Bearer ${userToken}` }), 403);
    assert.equal(await upgradeStatus(`${relay.url}/api/v1/events`, { authorization: `Bearer ${agentToken}` }), 403);
    assert.equal(await upgradeStatus(`${relay.url}/api/v1/events`, { 'sec-websocket-protocol': `mlt.relay.v1, bearer.${userToken}` }), 101);
    assert.deepEqual(accepted, [], `${accepted.length} of ${attempts} bad requests were accepted`);
    // The login page is public and holds no data.
    const page = await fetch(`${relay.url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(!html.includes('box1') && !html.includes('H100'));
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  it('keeps only a hash of each token, lists them without secrets, and revokes', async () => {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(sandbox.env.XDG_DATA_HOME!, 'mltoolbox', 'relay.db'), { readOnly: true });
    const rows = db.prepare('SELECT id, hash, scope, host FROM relay_tokens').all() as { id: string; hash: string; scope: string; host: string | null }[];
    db.close();
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(userToken) && !dump.includes(agentToken.split('_').pop()!), 'no token text at rest');
    assert.ok(rows.some((r) => r.hash === createHash('sha256').update(userToken).digest('hex') && r.scope === 'user'));
    assert.ok(rows.some((r) => r.scope === 'agent' && r.host === 'box1'));
    const list = await mlt(['relay', 'token', 'list', '--json']);
    assert.equal(list.code, 0);
    assert.ok(!list.stdout.includes(userToken) && !list.stdout.includes('hash'));
    assert.deepEqual((JSON.parse(list.stdout) as { result: { tokens: { name: string }[] } }).result.tokens.map((t) => t.name).sort(), ['agent@box1', 'tester']);
    // A second token, used then revoked by name: refused from then on.
    const spare = (await mlt(['relay', 'token', 'create', '--name', 'spare'])).stdout.trim();
    assert.equal((await fetch(`${relay.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${spare}` } })).status, 200);
    const revoked = await mlt(['relay', 'token', 'revoke', 'spare']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await fetch(`${relay.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${spare}` } })).status, 401);
    const again = await mlt(['relay', 'token', 'revoke', 'spare']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /RELAY_TOKEN_NOT_FOUND/);
    // Nothing secret in the relay's own log.
    assert.ok(!relay.output().includes(userToken) && !relay.output().includes(spare) && !relay.output().includes(agentToken));
  });

  it('shows the host with its GPUs, CPU, memory and mltoolbox containers only', async () => {
    const body = await host();
    assert.equal(body.online, true);
    assert.equal(body.metrics!.gpus.length, 8);
    assert.equal(body.metrics!.gpus[0]!.name, 'NVIDIA H100 80GB HBM3');
    assert.equal(body.metrics!.gpus[0]!.utilizationPercent, 91);
    assert.ok((body.metrics!.memoryTotalBytes ?? 0) > 0);
    const mine = body.containers.find((c) => c.name === managed);
    assert.equal(mine?.project, projectIdentity(sandbox.projectDir, 'relaydemo').slug);
    assert.equal(mine?.state, 'running');
    assert.ok(!body.containers.some((c) => c.name === unmanaged), 'a container without mltoolbox labels is not listed');
  });

  it('runs exec and reads logs in the host\'s mltoolbox containers, and refuses others', async () => {
    const exec = await api(`/api/v1/hosts/box1/containers/${managed}/exec`, { method: 'POST', body: JSON.stringify({ argv: ['sh', '-c', 'echo "hello $0"; exit 3', 'relay'] }) });
    assert.equal(exec.status, 200);
    assert.deepEqual(await exec.json(), { ok: true, exitCode: 3, output: 'hello relay\n' });
    const other = await api(`/api/v1/hosts/box1/containers/${unmanaged}/exec`, { method: 'POST', body: JSON.stringify({ argv: ['true'] }) });
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'CONTAINER_NOT_FOUND');
    const logs = (await (await api(`/api/v1/hosts/box1/containers/${managed}/logs?tail=3`)).json()) as { ok: boolean; output: string };
    assert.equal(logs.ok, true);
    assert.match(logs.output, /^tick \d+$/m);
    assert.equal(logs.output.trim().split('\n').length, 3);
    const invalid = await api(`/api/v1/hosts/box1/containers/${managed}/exec`, { method: 'POST', body: JSON.stringify({ argv: [] }) });
    assert.equal(invalid.status, 400, 'the schema refuses an empty argv');
    const offline = await api(`/api/v1/hosts/nobody/containers/${managed}/stop`, { method: 'POST' });
    assert.equal(offline.status, 503);
  });

  it('dashboard in headless Chromium: login, GPU figures, live log follow; a wrong token is refused', async () => {
    const { chromium } = await import('playwright-core');
    mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(10_000);
      // Refused: a wrong token shows the refusal and no host data.
      await page.goto(relay.url);
      await page.fill('#token', `mltr_u_${'A'.repeat(12)}_${'B'.repeat(43)}`);
      await page.click('button[type=submit]');
      await page.waitForSelector('#login-error:has-text("401")');
      assert.equal(await page.locator('[data-host]').count(), 0);
      await page.screenshot({ path: join(ARTIFACTS, 'refused.png') });
      // Logged in: the host, its GPUs with figures from the fixture.
      await page.fill('#token', userToken);
      await page.click('button[type=submit]');
      const card = page.locator('[data-host="box1"]');
      await card.locator('.gpu-figures').first().waitFor();
      assert.equal(await card.locator('.gpu').count(), 8);
      assert.match(await card.locator('.gpu-figures').first().innerText(), /util 91% · mem 70213 \/ 81559 MiB/);
      assert.match(await card.innerText(), /online/);
      await page.screenshot({ path: join(ARTIFACTS, 'hosts.png'), fullPage: true });
      // Live logs: lines keep arriving without a reload.
      await card.locator(`button[data-container="${managed}"]`).click();
      const ticks = async () => [...(await page.locator('#logs').innerText()).matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
      await waitFor('log lines in the dashboard', async () => (await ticks()).length > 0, 10_000);
      const first = Math.max(...await ticks());
      await waitFor('a new log line without a reload', async () => Math.max(...await ticks()) > first, 10_000);
      await page.screenshot({ path: join(ARTIFACTS, 'logs.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('status goes through the relay when it answers, else over SSH with one note line', async () => {
    // The default 300 ms is for people; a CI machine running the whole suite on 2 cores needs longer (relay.timeout_ms).
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), `project:\n  name: relaydemo\nrelay:\n  url: ${relay.url}\n  timeout_ms: 5000\n`);
    const stored = await mlt(['secret', 'set', 'relay_token'], userToken);
    assert.equal(stored.code, 0, stored.stderr);
    const viaRelay = await mlt(['status', 'box1', '--json']);
    assert.equal(viaRelay.code, 0, viaRelay.stderr);
    const result = (JSON.parse(viaRelay.stdout) as { result: { via: string; container: { name: string } | null; gpu: { state: string; gpus: unknown[] } } }).result;
    assert.equal(result.via, 'relay', viaRelay.stderr);
    assert.equal(result.container?.name, managed);
    assert.equal(result.gpu.gpus.length, 8);
    // The relay down: the harness host is asked over SSH, with one note.
    const sshHost = harness.ssh.alias;
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'project:\n  name: relaydemo\nrelay:\n  url: http://127.0.0.1:9\n');
    const fallback = await mlt(['status', sshHost, '--json']);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.equal((JSON.parse(fallback.stdout) as { result: { via: string; target: string } }).result.via, 'ssh');
    assert.equal(fallback.stderr.split('\n').filter((l) => l.includes('relay:')).length, 1);
    assert.match(fallback.stderr, /relay: unreachable; asking the host over SSH/);
  });

  const relayConfig = (url: string, extra = '') => writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), `project:\n  name: relaydemo\nrelay:\n  url: ${url}\n  timeout_ms: 5000\n${extra}`);

  it('ps and logs go through the relay when it answers, else over SSH with one note line', async () => {
    relayConfig(relay.url);
    const ps = await mlt(['ps', 'box1', '--json']);
    assert.equal(ps.code, 0, ps.stderr);
    const listed = (JSON.parse(ps.stdout) as { result: { via: string; containers: { name: string }[] } }).result;
    assert.equal(listed.via, 'relay');
    assert.ok(listed.containers.some((c) => c.name === managed) && !listed.containers.some((c) => c.name === unmanaged));
    assert.ok(!ps.stderr.includes('relay:'), 'no note when the relay answered');
    const logs = await mlt(['logs', 'box1', '--tail', '3']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.trim().split('\n').filter((l) => /^tick \d+$/.test(l)).length, 3, logs.stdout);
    assert.ok(!logs.stderr.includes('relay:'));
    // Followed through the relay's socket: new lines keep coming until Ctrl-C.
    const follower = spawn(process.execPath, [BIN, 'logs', 'box1', '-f', '--tail', '1'], { cwd: sandbox.projectDir, env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    let followErr = '';
    follower.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    follower.stderr.on('data', (d: Buffer) => (followErr += d.toString()));
    try {
      await waitFor('two ticks followed through the relay', async () => new Set(followed.match(/tick \d+/g) ?? []).size >= 2, 20_000);
    } finally {
      follower.kill('SIGINT');
      await new Promise((resolve) => follower.once('exit', resolve));
    }
    assert.ok(!followErr.includes('asking the host over SSH'), followErr);

    // The relay down: the harness host is asked over SSH, with one note each.
    const sshHost = harness.ssh.alias;
    const own = containerName(projectIdentity(sandbox.projectDir, 'relaydemo'));
    await run('docker', ['run', '-d', '--rm', '--name', own, '--label', 'mltoolbox-test=relay', '--label', 'mltoolbox.managed=true', '--label', `mltoolbox.project=${projectIdentity(sandbox.projectDir, 'relaydemo').slug}`, '--stop-timeout', '1', harness.docker.baseImage, 'sh', '-c', 'echo "over ssh"; sleep 300'], { timeoutMs: 60_000 });
    containers.push(own);
    relayConfig('http://127.0.0.1:9');
    const psSsh = await mlt(['ps', sshHost, '--json']);
    assert.equal(psSsh.code, 0, psSsh.stderr);
    const overSsh = (JSON.parse(psSsh.stdout) as { result: { via: string; containers: { name: string }[] } }).result;
    assert.equal(overSsh.via, 'ssh');
    assert.ok(overSsh.containers.some((c) => c.name === own));
    assert.equal(psSsh.stderr.split('\n').filter((l) => l.includes('relay:')).length, 1, psSsh.stderr);
    await waitFor('the container printed its line', async () => (await run('docker', ['logs', own])).stdout.includes('over ssh'), 10_000);
    const logsSsh = await mlt(['logs', sshHost]);
    assert.equal(logsSsh.code, 0, logsSsh.stderr);
    assert.match(logsSsh.stdout, /over ssh/);
    assert.match(logsSsh.stderr, /relay: unreachable; asking the host over SSH/);
    assert.equal(logsSsh.stderr.split('\n').filter((l) => l.includes('relay:')).length, 1);
    await run('docker', ['rm', '-f', own], { timeoutMs: 60_000 });
  });

  it('sync as an operation: detach, ops list, ops watch re-attaches and sees completion, result queryable', async () => {
    // A pre_sync hook that takes a while: time to detach and to list it running.
    relayConfig(relay.url, 'hooks:\n  pre_sync: sleep 4\n');
    writeFileSync(join(sandbox.projectDir, 'train.py'), 'print("hello")\n');
    const sshHost = harness.ssh.alias;
    const started = await mlt(['sync', sshHost, '--background', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const id = (JSON.parse(started.stdout) as { result: { operation: string } }).result.operation;
    assert.match(id, /^op-[a-f0-9]{8}$/);
    const list = await mlt(['ops', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const listed = (JSON.parse(list.stdout) as { result: { operations: { id: string; state: string; kind: string; title: string }[] } }).result.operations.find((o) => o.id === id);
    assert.equal(listed?.kind, 'sync');
    assert.equal(listed?.state, 'running');
    assert.equal(listed?.title, `mltoolbox sync ${sshHost}`);
    const watched = await mlt(['ops', 'watch', id, '--json']);
    assert.equal(watched.code, 0, watched.stderr);
    const done = (JSON.parse(watched.stdout) as { result: { state: string; result: { summary: { filesTransferred: number } } } }).result;
    assert.equal(done.state, 'succeeded');
    assert.ok(done.result.summary.filesTransferred >= 1, JSON.stringify(done));
    assert.match(watched.stderr, /Syncing to/, 'the worker\'s progress reached the watcher');
    // Queryable afterwards, over the API too.
    const body = (await (await api(`/api/v1/operations/${id}`)).json()) as { state: string; result: { summary: { filesTransferred: number } }; percent: number; worker: { pid: number } };
    assert.equal(body.state, 'succeeded');
    assert.ok(body.result.summary.filesTransferred >= 1);
    assert.equal(body.percent, 100);
    assert.ok(body.worker.pid > 0);

    // Attached (--op), then Ctrl-C: the CLI detaches, the work goes on and finishes.
    const attached = spawn(process.execPath, [BIN, 'sync', sshHost, '--op'], { cwd: sandbox.projectDir, env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    attached.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => attached.once('exit', (code) => resolve(code)));
    await waitFor('the CLI follows the operation', async () => /following it/.test(err), 30_000);
    attached.kill('SIGINT');
    await exited;
    const second = /operation (op-[a-f0-9]{8}) started/.exec(err)?.[1];
    assert.ok(second, err);
    assert.match(err, new RegExp(`detached from ${second}`));
    const rewatched = await mlt(['ops', 'watch', second!, '--json']);
    assert.equal(rewatched.code, 0, rewatched.stderr);
    assert.equal((JSON.parse(rewatched.stdout) as { result: { state: string } }).result.state, 'succeeded');
    relayConfig(relay.url);
  });

  it('an operation needs the relay: without one it says so and starts nothing', async () => {
    relayConfig('http://127.0.0.1:9');
    const refused = await mlt(['sync', harness.ssh.alias, '--background', '--json']);
    assert.equal(refused.code, 1);
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'RELAY_UNAVAILABLE');
    relayConfig(relay.url);
  });

  it('provisioned instances reach the dashboard: $/h, spend, idle timer (headless Chromium)', async () => {
    relayConfig(relay.url);
    const { openStateStore } = await import('../../src/db/index.ts');
    const state = await openStateStore({ file: join(sandbox.env.MLTOOLBOX_DATA_DIR ?? join(sandbox.env.XDG_DATA_HOME!, 'mltoolbox'), 'state.db') });
    try {
      state.recordLaunchIntent({ name: 'mlt-relaydemo-h100', backend: 'lambda', offerId: 'lambda:gpu_1x_h100:us-east-1', instanceType: 'gpu_1x_h100_pcie', region: 'us-east-1', gpu: 'H100', gpuCount: 1, pricePerHour: 2.49, shape: 'vm', state: 'running', providerId: 'i-123', idleTimeoutMinutes: 30, idleAction: 'stop' });
    } finally {
      state.close();
    }
    const listed = await mlt(['instances', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const reported = (await (await api('/api/v1/instances')).json()) as { instances: { name: string; pricePerHour: number; idleTimeoutMinutes: number; reportedBy: string }[] };
    const mine = reported.instances.find((i) => i.name === 'mlt-relaydemo-h100');
    assert.equal(mine?.pricePerHour, 2.49);
    assert.equal(mine?.idleTimeoutMinutes, 30);
    assert.equal(mine?.reportedBy, 'tester');

    const { chromium } = await import('playwright-core');
    mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(10_000);
      await page.goto(relay.url);
      await page.fill('#token', userToken);
      await page.click('button[type=submit]');
      const row = page.locator('[data-instance="mlt-relaydemo-h100"]');
      await row.waitFor();
      assert.equal(await row.locator('.price').innerText(), '$2.49/h');
      assert.match(await row.locator('.spend').innerText(), /^\$\d+\.\d\d$/);
      assert.match(await row.locator('.idle').innerText(), /stop after 30 min idle/);
      // The operations of the test before, with their progress; a new one appears live.
      assert.ok(await page.locator('[data-operation]').count() >= 2);
      assert.match(await page.locator('[data-operation] .op-state').first().innerText(), /succeeded|running/);
      const started = await mlt(['sync', harness.ssh.alias, '--background', '--json']);
      assert.equal(started.code, 0, started.stderr);
      const id = (JSON.parse(started.stdout) as { result: { operation: string } }).result.operation;
      await page.locator(`[data-operation="${id}"] .op-state:has-text("succeeded")`).waitFor({ timeout: 60_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'operations-instances.png'), fullPage: true });
      // The cancel button: a sync held in its pre_sync hook stops, and the row turns cancelled live.
      relayConfig(relay.url, 'hooks:\n  pre_sync: sleep 60\n');
      const slow = await mlt(['sync', harness.ssh.alias, '--background', '--json']);
      assert.equal(slow.code, 0, slow.stderr);
      const slowId = (JSON.parse(slow.stdout) as { result: { operation: string } }).result.operation;
      await page.locator(`[data-operation="${slowId}"] button.op-cancel`).click({ timeout: 30_000 });
      await page.locator(`[data-operation="${slowId}"] .op-state:has-text("cancelled")`).waitFor({ timeout: 30_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'operation-cancelled.png'), fullPage: true });
      const listed = await mlt(['ops', 'list', '--json']);
      const cancelled = (JSON.parse(listed.stdout) as { result: { operations: { id: string; state: string; cancelledBy: string }[] } }).result.operations.find((o) => o.id === slowId);
      assert.deepEqual([cancelled?.state, cancelled?.cancelledBy], ['cancelled', 'tester']);
      relayConfig(relay.url);
    } finally {
      await browser.close();
    }
  });

  it('the daemon reconnects by itself when the relay restarts', async () => {
    const port = new URL(relay.url).port;
    await relay.stop();
    relay = await startRelay(sandbox.env, ['--port', port]);
    await waitFor('box1 back online', async () => (await host()).online, 15_000);
    assert.match(daemon.output(), /reconnecting in/);
  });

  it('stop acts through the relay and the dashboard data follows', async () => {
    const stopped = await api(`/api/v1/hosts/box1/containers/${managed}/stop`, { method: 'POST' });
    assert.equal(stopped.status, 200);
    // Stopped, the --rm container goes away: the host's list follows without a reload.
    await waitFor('the container gone from the host\'s list', async () => (await host()).containers.every((c) => c.name !== managed || c.state === 'exited'), 15_000);
  });

  describe('with PostgreSQL (relay.database_url)', () => {
    let pg: Awaited<ReturnType<typeof startPostgres>>;
    let pgRelay: Awaited<ReturnType<typeof startRelay>> | undefined;
    let pgDaemon: RunningProcess | undefined;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      pg = await startPostgres();
      const configDir = join(sandbox.root, 'pg-config');
      mkdirSync(join(configDir), { recursive: true });
      const url = new URL(pg.url);
      const password = url.password;
      url.password = '';
      writeFileSync(join(configDir, 'config.yaml'), `relay:\n  database_url: ${url.toString()}\n`);
      env = { ...sandbox.env, MLTOOLBOX_CONFIG_DIR: configDir };
      const stored = await runMltoolbox(['secret', 'set', 'relay_db_password'], { env, cwd: sandbox.root, input: password });
      assert.equal(stored.code, 0, stored.stderr);
    });
    after(async () => {
      await pgDaemon?.stop();
      await pgRelay?.stop();
      await pg?.stop();
    });

    it('migrates, keeps tokens and hosts in PostgreSQL, and serves agents', async () => {
      const tool = (args: string[]) => runMltoolbox(args, { env, cwd: sandbox.root, timeoutMs: 60_000 });
      const token = (await tool(['relay', 'token', 'create', '--name', 'team'])).stdout.trim();
      const agent = (await tool(['relay', 'token', 'create', '--name', 'agent@pgbox', '--host', 'pgbox'])).stdout.trim();
      assert.match(token, /^mltr_u_/);
      const list = await tool(['relay', 'token', 'list', '--json']);
      assert.deepEqual((JSON.parse(list.stdout) as { result: { tokens: { name: string }[] } }).result.tokens.map((t) => t.name), ['team', 'agent@pgbox']);
      pgRelay = await startRelay(env);
      pgDaemon = startDaemon({ ...sandbox.env, DOCKER_HOST: `unix://${harness.docker.socketPath}` }, { url: pgRelay.url, token: agent, fixture: 'a10.csv' });
      const get = async (path: string) => fetch(`${pgRelay!.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      await waitFor('pgbox online', async () => ((await (await get('/api/v1/hosts/pgbox')).json()) as HostBody).metrics?.gpus[0]?.name === 'NVIDIA A10', 15_000);
      const stats = (await (await get('/api/v1/stats')).json()) as { store: string; schemaVersion: number };
      assert.deepEqual([stats.store, stats.schemaVersion], ['postgres', 2]);
      // In the database itself: the schema version, the host, hashes only.
      const { default: pgLib } = await import('pg');
      const client = new pgLib.Client(pg.url);
      await client.connect();
      try {
        assert.deepEqual((await client.query('SELECT version FROM relay_schema_version ORDER BY version')).rows, [{ version: 1 }, { version: 2 }]);
        assert.deepEqual((await client.query('SELECT name FROM relay_hosts')).rows, [{ name: 'pgbox' }]);
        const hashes = (await client.query<{ hash: string }>('SELECT hash FROM relay_tokens')).rows.map((r) => r.hash);
        assert.ok(hashes.includes(createHash('sha256').update(token).digest('hex')));
      } finally {
        await client.end();
      }
      // The database URL (with its password) never reaches the relay's output.
      assert.ok(!pgRelay.output().includes(new URL(pg.url).password));
      // Revoked in PostgreSQL: refused at once.
      await tool(['relay', 'token', 'revoke', 'team']);
      assert.equal((await get('/api/v1/hosts')).status, 401);
    });
  });
});
