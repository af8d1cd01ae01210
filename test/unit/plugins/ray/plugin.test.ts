import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigView, HookHandler, HookObject } from '../../../../src/plugin-api/index.ts';
import { containerPortOf, rayPlugin, type RaySection } from '../../../../src/plugins/ray/index.ts';
import { fakeContext, type FakeOptions } from '../fake-context.ts';

const hooks = rayPlugin.hooks!;
const configLoaded = hooks.configLoaded as HookHandler<'configLoaded', RaySection>;
const start = hooks.containerStart as HookObject<'containerStart', RaySection>;
const complete = hooks.connectComplete as HookObject<'connectComplete', RaySection>;
const stop = hooks.containerStop as HookObject<'containerStop', RaySection>;
const container = { id: 'c1', name: 'mlt-demo', image: 'img', action: 'created' as const, ports: [], workdir: '/workspace' };

const withRay = (ray: RaySection, rest: Record<string, unknown> = {}): FakeOptions<RaySection> => ({ project: { ...rest, ray }, section: ray });

async function runStart(options: FakeOptions<RaySection>) {
  const fake = fakeContext(options);
  await start.handler({ container, config: fake.context.config.project }, fake.context);
  return fake;
}

describe('ray plugin', () => {
  it('does nothing unless enabled', async () => {
    const fake = await runStart(withRay({ enabled: false }));
    assert.deepEqual(fake.calls, []);
    const config: ConfigView = { ray: { enabled: false } };
    assert.equal(await configLoaded({ config }, fakeContext<RaySection>({}).context), undefined);
  });

  it('configLoaded publishes the dashboard port with the project ports, once', async () => {
    const context = fakeContext<RaySection>({}).context;
    const config: ConfigView = { ray: { enabled: true, dashboard_port: 8300 }, environment: { ports: [8888, '6006:6006'] } };
    assert.deepEqual(await configLoaded({ config }, context), { ray: { enabled: true, dashboard_port: 8300 }, environment: { ports: [8888, '6006:6006', 8300] } });
    assert.deepEqual(await configLoaded({ config: { ray: { enabled: true } } }, context), { ray: { enabled: true }, environment: { ports: [8265] } });
    const already: ConfigView = { ray: { enabled: true }, environment: { ports: ['127.0.0.1:18265:8265/tcp'] } };
    assert.equal(await configLoaded({ config: already }, context), undefined);
  });

  it('containerPortOf reads every ports form', () => {
    assert.equal(containerPortOf(8888), 8888);
    assert.equal(containerPortOf('9000:8888'), 8888);
    assert.equal(containerPortOf('127.0.0.1:9000:8888/tcp'), 8888);
    assert.equal(containerPortOf({}), undefined);
  });

  it('starts the head with the configured ports', async () => {
    const fake = await runStart(withRay({ enabled: true, port: 6380, dashboard_port: 8300 }));
    assert.deepEqual(fake.calls.map((c) => [c.where, ...c.argv]), [[
      'container', 'ray', 'start', '--head', '--port=6380', '--include-dashboard=true', '--dashboard-host=0.0.0.0', '--dashboard-port=8300', '--disable-usage-stats',
    ]]);
  });

  it('defaults: GCS 6379', async () => {
    const fake = await runStart(withRay({ enabled: true }));
    assert.ok(fake.calls[0]!.argv.includes('--port=6379'));
    assert.ok(fake.calls[0]!.argv.includes('--dashboard-port=8265'));
  });

  it('a head already running (reused container) is fine', async () => {
    const fake = await runStart({
      ...withRay({ enabled: true }),
      exec: () => ({ exitCode: 1, stderr: 'ConnectionError: Ray is trying to start at 172.17.0.2:6379, but is already running at 172.17.0.2:6379.' }),
    });
    assert.ok(fake.logs.includes('debug: Ray head already running (GCS port 6379)'));
  });

  it('ray missing from the image is an error with a hint', async () => {
    await assert.rejects(
      runStart({ ...withRay({ enabled: true }), exec: () => ({ exitCode: 127, stderr: 'exec: "ray": executable file not found in $PATH' }) }),
      (error: Error & { hint?: string }) => /not installed/.test(error.message) && /pip install/.test(error.hint ?? ''),
    );
  });

  const cluster = { head: { target: 'gpu1', address: '10.0.0.1' }, workers: ['gpu2', 'gpu3'] };

  it('the head of a cluster starts the head, nothing else', async () => {
    const fake = await runStart({ ...withRay({ enabled: true, workers: [{ target: 'gpu2' }] }), target: 'gpu1', role: 'head', cluster });
    assert.deepEqual(fake.calls.map((c) => c.argv.slice(0, 3)), [['ray', 'start', '--head']]);
  });

  it('a worker joins the head at the address connect resolved, with its num_gpus', async () => {
    const ray = { enabled: true, port: 6380, workers: [{ target: 'gpu2', num_gpus: 4 }, { target: 'gpu3' }] };
    const two = await runStart({ ...withRay(ray), target: 'gpu2', role: 'worker', cluster });
    assert.deepEqual(two.calls.map((c) => [c.where, ...c.argv]), [['container', 'ray', 'start', '--address=10.0.0.1:6380', '--num-gpus=4', '--disable-usage-stats']]);
    assert.ok(two.logs.includes('success: Ray worker started: gpu2 -> 10.0.0.1:6380'), two.logs.join('\n'));
    const three = await runStart({ ...withRay(ray), target: 'gpu3', role: 'worker', cluster });
    assert.deepEqual(three.calls[0]!.argv, ['ray', 'start', '--address=10.0.0.1:6380', '--disable-usage-stats']);
  });

  it('head_address overrides the resolved address for workers', async () => {
    const fake = await runStart({ ...withRay({ enabled: true, head_address: '192.168.1.5' }), target: 'gpu2', role: 'worker', cluster });
    assert.deepEqual(fake.calls[0]!.argv.slice(0, 3), ['ray', 'start', '--address=192.168.1.5:6379']);
  });

  it('a worker without any head address is an error with a hint', async () => {
    await assert.rejects(runStart({ ...withRay({ enabled: true }), target: 'gpu2', role: 'worker' }),
      (error: Error & { hint?: string }) => /no address of the Ray head/.test(error.message) && /head_address/.test(error.hint ?? ''));
  });

  it('a worker that cannot reach the head says what to set', async () => {
    await assert.rejects(runStart({ ...withRay({ enabled: true }), target: 'gpu2', role: 'worker', cluster, exec: () => ({ exitCode: 1, stderr: 'ConnectionError: could not reach GCS' }) }),
      (error: Error & { hint?: string }) => /ray start --address=10\.0\.0\.1:6379 exited with 1: ConnectionError/.test(error.message) && /network_mode: host/.test(error.hint ?? ''));
  });

  it('a worker forwards no dashboard', async () => {
    const fake = fakeContext({ ...withRay({ enabled: true }), role: 'worker', cluster });
    await complete.handler({ target: 'gpu2', project: 'demo', container, forwards: [] }, fake.context);
    assert.deepEqual(fake.forwards, []);
    assert.deepEqual(fake.logs, []);
  });

  it('a worker runs ray stop too', async () => {
    const fake = fakeContext({ ...withRay({ enabled: true }), role: 'worker', cluster });
    await stop.handler({ container: { id: 'c2', name: 'mlt-demo-worker' }, action: 'remove' }, fake.context);
    assert.deepEqual(fake.calls.map((c) => c.argv), [['ray', 'stop']]);
  });

  it('connectComplete reports the dashboard URL from connect\'s own forward', async () => {
    const fake = fakeContext(withRay({ enabled: true, dashboard_port: 8300 }));
    await complete.handler({ target: 'gpu-box', project: 'demo', container, forwards: [{ local: 18300, container: 8300 }] }, fake.context);
    assert.deepEqual(fake.forwards, []);
    assert.ok(fake.logs.includes('success: Ray dashboard: http://127.0.0.1:18300'));
  });

  it('connectComplete forwards the dashboard itself when connect did not', async () => {
    const fake = fakeContext(withRay({ enabled: true }));
    await complete.handler({ target: 'gpu-box', project: 'demo', container, forwards: [] }, fake.context);
    assert.deepEqual(fake.forwards, [{ containerPort: 8265, localPort: 40_000 }]);
    assert.ok(fake.logs.includes('success: Ray dashboard: http://127.0.0.1:40000'));
  });

  it('runs ray stop before the container stops, only when enabled', async () => {
    const on = fakeContext(withRay({ enabled: true }));
    await stop.handler({ container: { id: 'c1', name: 'mlt-demo' }, action: 'stop' }, on.context);
    assert.deepEqual(on.calls.map((c) => c.argv), [['ray', 'stop']]);
    const off = fakeContext<RaySection>({});
    await stop.handler({ container: { id: 'c1', name: 'mlt-demo' }, action: 'remove' }, off.context);
    assert.deepEqual(off.calls, []);
  });

  it('`ray status` runs in the container and passes the exit code through', async () => {
    const command = rayPlugin.commands!.find((c) => c.name === 'ray status')!;
    const fake = fakeContext<RaySection>({ exec: () => ({ stdout: 'Active: 1 node\n' }) });
    const result = await command.run({ args: {}, options: {}, rest: [] }, fake.context);
    assert.deepEqual(fake.calls.map((c) => c.argv), [['ray', 'status']]);
    assert.deepEqual(result, { result: { exitCode: 0, output: 'Active: 1 node\n' }, human: 'Active: 1 node\n', exitCode: 0 });
  });
});
