import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HookObject } from '../../src/plugin-api/index.ts';
import { createSlackPlugin, type SlackSection } from '../../src/plugins/slack/index.ts';
import { createSandbox, freePort, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';
import { fakeContext } from '../unit/plugins/fake-context.ts';

const RAY_STANDIN = new URL('../fixtures/ray-standin/ray', import.meta.url);

/** A webhook on 127.0.0.1 that answers with the next status of a script and records each request. */
async function startWebhook(statuses: number[]) {
  const requests: Array<{ method: string; path: string; contentType: string | undefined; body: unknown }> = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', path: request.url ?? '', contentType: request.headers['content-type'], body: JSON.parse(body) });
      response.statusCode = statuses[Math.min(requests.length - 1, statuses.length - 1)]!;
      response.end(response.statusCode === 200 ? 'ok' : 'server_error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T0/B0/secret`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('slack plugin against a local webhook', () => {
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  before(async () => {
    webhook = await startWebhook([500, 200]);
  });
  after(async () => {
    await webhook.close();
  });

  it('a 500 is retried once, then the 200 ends it; the payload is Slack JSON', async () => {
    const plugin = createSlackPlugin();
    const fake = fakeContext<SlackSection>({ section: { backoff_ms: 50 }, secrets: { slack_webhook: webhook.url }, target: 'gpu-box' });
    const hook = plugin.hooks!.containerStart as HookObject<'containerStart', SlackSection>;
    const container = { id: 'c1', name: 'mlt-demo', image: 'img', action: 'created' as const, ports: [], workdir: '/workspace' };
    await hook.handler({ container, config: {} }, fake.context);
    assert.equal(webhook.requests.length, 2);
    for (const request of webhook.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.path, '/services/T0/B0/secret');
      assert.equal(request.contentType, 'application/json');
      assert.deepEqual(request.body, { text: ':rocket: Dev container started: *demo* on `gpu-box`\ncontainer mlt-demo (created)' });
    }
    assert.ok(fake.logs.some((l) => l.startsWith('debug: Slack notified (container_start, 2 attempts)')), fake.logs.join('\n'));
  });

  it('a server that never answers costs one timeout per attempt, then a warning', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
      const plugin = createSlackPlugin();
      const fake = fakeContext<SlackSection>({ section: { attempts: 2, timeout_ms: 200, backoff_ms: 0 }, secrets: { slack_webhook: url } });
      const started = Date.now();
      await (plugin.hooks!.shutdown as HookObject<'shutdown', SlackSection>).handler({ command: 'connect', ok: false, error: { code: 'SSH_UNREACHABLE', message: 'cannot reach gpu-box' } }, fake.context);
      const took = Date.now() - started;
      assert.ok(took >= 400 && took < 3_000, `took ${took} ms`);
      assert.ok(fake.logs.includes('warn: Slack notification not delivered (failure): no answer within 200 ms after 2 attempts'), fake.logs.join('\n'));
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('built-in plugins through the binary', async () => {
  const harness = await useHarness();

  /**
   * The ray plugin through the built binary: `connect --no-attach` against the
   * harness's sshd and Docker Engine, in an image FROM the offline test image
   * that carries a stand-in `ray` (real Ray cannot be installed offline). The
   * stand-in records its arguments and serves the dashboard port with httpd.
   */
  describe('ray plugin through connect', () => {
    let sandbox: Sandbox;
    let project: string;
    let dashboardPort: number;
    const host = harness.ssh.alias;
    const mlt = (args: string[]) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 180_000 });
    const calls = async () => {
      const result = await mlt(['exec', host, '--', 'cat', '/tmp/ray-standin/calls.log']);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim().split('\n');
    };

    before(async () => {
      sandbox = await createSandbox({ harness });
      project = join(sandbox.root, 'ray-project');
      await mkdir(project, { recursive: true });
      await copyFile(RAY_STANDIN, join(project, 'ray'));
      await writeFile(join(project, 'Dockerfile'), `FROM ${harness.docker.baseImage}\nCOPY ray /usr/local/bin/ray\nRUN chmod 755 /usr/local/bin/ray\n`);
      dashboardPort = await freePort();
      await writeFile(join(project, 'mltoolbox.yaml'), [
        'version: 1',
        'project:',
        '  name: ray-demo',
        'environment:',
        '  dockerfile:',
        '    path: Dockerfile',
        '  gpus: optional',
        'plugins: [ray, gpu-metrics]',
        'ray:',
        '  enabled: true',
        '  port: 6380',
        `  dashboard_port: ${dashboardPort}`,
        '',
      ].join('\n'));
    });

    after(async () => {
      await mlt(['down', host]);
    });

    it('connect starts the head in the container and forwards the dashboard here', async () => {
      const result = await mlt(['connect', host, '--no-attach', '--json']);
      assert.equal(result.code, 0, `connect failed:\n${result.stderr}\n${result.stdout}`);
      assert.match(result.stderr, new RegExp(`Ray dashboard: http://127\\.0\\.0\\.1:${dashboardPort}`));
      const forwards = JSON.parse(result.stdout).result.forwards as Array<{ local: number; container: number }>;
      assert.ok(forwards.some((f) => f.local === dashboardPort && f.container === dashboardPort), JSON.stringify(forwards));

      assert.deepEqual(await calls(), [
        `start --head --port=6380 --include-dashboard=true --dashboard-host=0.0.0.0 --dashboard-port=${dashboardPort} --disable-usage-stats`,
      ]);
      const response = await fetch(`http://127.0.0.1:${dashboardPort}/index.html`, { signal: AbortSignal.timeout(10_000) });
      assert.equal((await response.text()).trim(), `ray dashboard stand-in on port ${dashboardPort}`);
    });

    it('plugin commands: `ray status` in the container, `gpu` on a host without NVIDIA tools', async () => {
      const status = await mlt(['plugins', 'run', 'ray', 'status']);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /Active: 1 node/);
      const gpu = await mlt(['plugins', 'run', 'gpu', '--json']);
      assert.equal(gpu.code, 1, gpu.stderr);
      assert.deepEqual(JSON.parse(gpu.stdout).result.result, { status: 'unavailable', reason: 'nvidia-smi is not installed (no NVIDIA driver on this host)' });
    });

    it('stop runs ray stop in the container; the next connect starts the head again', async () => {
      const stop = await mlt(['stop', host]);
      assert.equal(stop.code, 0, stop.stderr);
      const again = await mlt(['connect', host, '--no-attach', '--skip-sync']);
      assert.equal(again.code, 0, again.stderr);
      const log = await calls();
      assert.deepEqual(log.map((line) => line.split(' ').slice(0, 2).join(' ')), ['start --head', 'status', 'stop', 'start --head'], log.join('\n'));
    });
  });

  /**
   * A Ray cluster of two targets on the harness's one sshd and engine: the
   * alias is the head, `root@127.0.0.1:PORT` (the same host, typed another
   * way) the worker, named in ray.workers. Each container has its own
   * stand-in log, so the test reads what ran in each.
   */
  describe('ray cluster through connect: a head and a worker', () => {
    let sandbox: Sandbox;
    let project: string;
    const head = harness.ssh.alias;
    const worker = `root@127.0.0.1:${harness.ssh.port}`;
    const mlt = (args: string[]) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 180_000 });
    const calls = async (target: string) => {
      const result = await mlt(['exec', target, '--', 'cat', '/tmp/ray-standin/calls.log']);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim().split('\n');
    };

    before(async () => {
      sandbox = await createSandbox({ harness });
      project = join(sandbox.root, 'ray-cluster');
      await mkdir(project, { recursive: true });
      await copyFile(RAY_STANDIN, join(project, 'ray'));
      await writeFile(join(project, 'Dockerfile'), `FROM ${harness.docker.baseImage}\nCOPY ray /usr/local/bin/ray\nRUN chmod 755 /usr/local/bin/ray\n`);
      await writeFile(join(project, 'mltoolbox.yaml'), [
        'version: 1',
        'project:',
        '  name: ray-cluster',
        'remote:',
        `  identity_file: ${harness.ssh.identityFile}`,
        'environment:',
        '  dockerfile:',
        '    path: Dockerfile',
        '  gpus: optional',
        'plugins: [ray]',
        'ray:',
        '  enabled: true',
        '  port: 6381',
        `  dashboard_port: ${await freePort()}`,
        '  workers:',
        `    - target: "${worker}"`,
        '      num_gpus: 1',
        '',
      ].join('\n'));
    });

    after(async () => {
      await mlt(['down', worker]);
      await mlt(['down', head]);
    });

    it('connect HEAD starts the head, then the ray.workers target in a worker container that joins it', async () => {
      const result = await mlt(['connect', head, '--no-attach', '--json']);
      assert.equal(result.code, 0, `connect failed:\n${result.stderr}\n${result.stdout}`);
      const connected = JSON.parse(result.stdout).result;
      assert.equal(connected.role, 'head');
      assert.equal(connected.workers.length, 1);
      const [joined] = connected.workers;
      assert.equal(joined.target, worker);
      assert.equal(joined.role, 'worker');
      assert.equal(joined.container.name, `${connected.container.name}-worker`, 'one engine, two containers');
      assert.deepEqual(joined.forwards, []);

      assert.deepEqual((await calls(head)).map((line) => line.split(' ').slice(0, 2).join(' ')), ['start --head']);
      // The head's address is its HostName as ssh resolves the alias.
      assert.deepEqual(await calls(worker), ['start --address=127.0.0.1:6381 --num-gpus=1 --disable-usage-stats']);
      assert.match(result.stderr, new RegExp(`Ray worker started: ${worker.replaceAll('.', '\\.')} -> 127\\.0\\.0\\.1:6381`));
    });

    it('connect HEAD WORKER (command line) reuses both containers; the worker joins again', async () => {
      const result = await mlt(['connect', head, worker, '--no-attach', '--skip-sync', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const connected = JSON.parse(result.stdout).result;
      assert.equal(connected.container.action, 'reused');
      assert.deepEqual(connected.workers.map((w: { target: string; container: { action: string } }) => [w.target, w.container.action]), [[worker, 'reused']]);
      assert.deepEqual((await calls(worker)).map((line) => line.split(' ').slice(0, 2).join(' ')), ['start --address=127.0.0.1:6381', 'start --address=127.0.0.1:6381']);
      const status = await mlt(['status', '--json']);
      assert.equal(JSON.parse(status.stdout).result.target, head, 'the project default stays the head');
    });

    it('down of each target runs ray stop in its own container, then removes it', async () => {
      for (const target of [worker, head]) {
        const down = await mlt(['down', target, '--verbose', '--json']);
        assert.equal(down.code, 0, down.stderr);
        assert.match(down.stderr, /\[ray\] Ray stopped/);
        assert.equal(JSON.parse(down.stdout).result.action, 'removed');
      }
      const exec = await mlt(['exec', worker, '--', 'true']);
      assert.match(exec.stderr, /NOT_CONNECTED/);
    });
  });

  describe('slack plugin through the binary', () => {
    let sandbox: Sandbox;
    let project: string;
    let webhook: Awaited<ReturnType<typeof startWebhook>>;
    const host = harness.ssh.alias;
    const mlt = (args: string[], input?: string) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 180_000, ...(input !== undefined ? { input } : {}) });

    before(async () => {
      webhook = await startWebhook([500, 200]);
      // No keychain in the sandbox: secrets go to the encrypted file.
      sandbox = await createSandbox({ harness, env: { MLTOOLBOX_SECRET_PASSPHRASE: 'builtin-plugins-test' } });
      project = join(sandbox.root, 'slack-project');
      await mkdir(project, { recursive: true });
      await writeFile(join(project, 'train.py'), 'print("hi")\n');
      await writeFile(join(project, 'mltoolbox.yaml'), ['version: 1', 'project:', '  name: slack-demo', 'plugins: [slack]', 'slack:', '  backoff_ms: 50', ''].join('\n'));
      const secret = await runMltoolbox(['secret', 'set', 'slack_webhook'], { env: sandbox.env, input: webhook.url });
      assert.equal(secret.code, 0, secret.stderr);
    });

    after(async () => {
      await webhook.close();
    });

    it('sync posts "Project synced" after one retry; the URL is in no output', async () => {
      const result = await mlt(['sync', host, '--verbose']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(webhook.requests.length, 2, result.stderr);
      const text = (webhook.requests[1]!.body as { text: string }).text;
      assert.match(text, /^:arrows_counterclockwise: Project synced: \*slack-demo\* on `mlt-test-host`\n\d+ files?, /);
      assert.deepEqual(webhook.requests[0]!.body, webhook.requests[1]!.body);
      assert.ok(!`${result.stdout}${result.stderr}`.includes(webhook.url));
    });

    it('a failed command posts a failure', async () => {
      const before = webhook.requests.length;
      const result = await mlt(['exec', host, '--', 'true']);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /NOT_CONNECTED/);
      const posted = webhook.requests.slice(before).map((r) => (r.body as { text: string }).text);
      assert.equal(posted.length, 1, result.stderr);
      assert.match(posted[0]!, /^:x: mltoolbox step failed: \*slack-demo\*/);
      assert.match(posted[0]!, /NOT_CONNECTED/);
    });
  });
});
