import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { UserError } from '../../../../src/core/errors.ts';
import { createHookRunner } from '../../../../src/orchestrators/plugins/hook-runner.ts';
import type { ActivePlugin, HookScope } from '../../../../src/orchestrators/plugins/types.ts';
import type { Plugin, PluginHooks } from '../../../../src/plugin-api/index.ts';

function active(name: string, hooks: PluginHooks, entry: Partial<ActivePlugin['entry']> = {}): ActivePlugin {
  const plugin: Plugin = { name, version: '1.0.0', apiVersion: '1.0', hooks };
  return {
    plugin,
    source: { kind: 'builtin' },
    entry: { ref: { kind: 'name', name }, label: name, enabled: true, required: false, timeoutMs: undefined, options: {}, ...entry },
  };
}

const scope: HookScope = { command: 'test', config: { project: { name: 'demo' }, demo: { a: 1 } }, project: { name: 'demo', localDir: '/tmp/demo', workdir: '/workspace' } };
const syncPayload = { sync: { target: 't', localDir: '/l', remoteDir: '/r', dryRun: false } };

function runner(plugins: ActivePlugin[], defaultTimeoutMs = 1000) {
  const reporter = createRecordingReporter();
  const hooks = createHookRunner(() => plugins, { reporter, env: { HOME: '/home/me' }, secrets: async () => ({ get: async (n) => (n === 'TOKEN' ? 's3cret' : undefined) }), defaultTimeoutMs });
  return { hooks, reporter };
}

describe('hook runner: order and kinds', () => {
  it('sequential runs pre, then unordered, then post, list order within each', async () => {
    const calls: string[] = [];
    const record = (name: string) => () => void calls.push(name);
    const { hooks } = runner([
      active('a', { beforeSync: { handler: record('a'), order: 'post' } }),
      active('b', { beforeSync: record('b') }),
      active('c', { beforeSync: { handler: record('c'), order: 'pre' } }),
      active('d', { beforeSync: record('d') }),
      active('e', { afterSync: record('e') }),
    ]);
    await hooks.sequential('beforeSync', syncPayload, scope);
    assert.deepEqual(calls, ['c', 'b', 'd', 'a']);
  });

  it('sequential waits for each async handler before the next', async () => {
    const calls: string[] = [];
    const { hooks } = runner([
      active('slow', { containerStop: async () => { await new Promise((r) => setTimeout(r, 30)); calls.push('slow'); } }),
      active('fast', { containerStop: () => void calls.push('fast') }),
    ]);
    await hooks.sequential('containerStop', { container: { id: '1', name: 'c' }, action: 'stop' }, scope);
    assert.deepEqual(calls, ['slow', 'fast']);
  });

  it('parallel starts every handler at once', async () => {
    let running = 0;
    let peak = 0;
    const handler = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    };
    const { hooks } = runner([active('a', { afterSync: handler }), active('b', { afterSync: handler }), active('c', { afterSync: handler })]);
    await hooks.parallel('afterSync', { ...syncPayload, result: { filesTransferred: 1, bytes: 2, deleted: 0, durationMs: 3 } }, scope);
    assert.equal(peak, 3);
  });

  it('first returns the first non-undefined result and stops', async () => {
    const calls: string[] = [];
    const { hooks } = runner([
      active('none', { resolveHost: () => void calls.push('none') }),
      active('yes', { resolveHost: ({ name }) => { calls.push('yes'); return { host: `${name}.example` }; } }),
      active('late', { resolveHost: () => { calls.push('late'); return { host: 'late' }; } }),
    ]);
    assert.deepEqual(await hooks.first('resolveHost', { name: 'box' }, scope), { host: 'box.example' });
    assert.deepEqual(calls, ['none', 'yes']);
  });

  it('reduce passes each result to the next plugin; undefined keeps the config', async () => {
    const { hooks } = runner([
      active('add-port', { configLoaded: ({ config }) => ({ ...config, ports: [8265] }) }),
      active('noop', { configLoaded: () => undefined }),
      active('add-more', { configLoaded: ({ config }) => ({ ...config, ports: [...(config.ports as number[]), 6006] }) }),
    ]);
    const result = await hooks.reduce('configLoaded', { config: { project: { name: 'x' } } }, scope);
    assert.deepEqual(result.config, { project: { name: 'x' }, ports: [8265, 6006] });
  });

  it('gives plugins a frozen config they cannot change in place', async () => {
    let threw = false;
    const { hooks } = runner([active('mutator', { configLoaded: ({ config }) => { try { (config as Record<string, unknown>).x = 1; } catch { threw = true; } } })]);
    const original = { project: { name: 'x' } };
    const result = await hooks.reduce('configLoaded', { config: original }, scope);
    assert.equal(threw, true);
    assert.deepEqual(result.config, original);
  });
});

describe('hook runner: context', () => {
  it('gives each plugin its section, options, secrets, prefixed logger and project', async () => {
    let seen: unknown;
    const { hooks, reporter } = runner([active('demo', {
      beforeSync: async (_payload, context) => {
        context.logger.info('hello');
        seen = { section: context.config.section, options: context.config.options, secret: await context.secrets.get('TOKEN'), project: context.project.name, aborted: context.signal.aborted };
      },
    }, { options: { level: 2 } })]);
    await hooks.sequential('beforeSync', syncPayload, scope);
    assert.deepEqual(seen, { section: { a: 1 }, options: { level: 2 }, secret: 's3cret', project: 'demo', aborted: false });
    assert.ok(reporter.lines.includes('info: [demo] hello'));
  });
});

describe('hook runner: isolation', () => {
  it('a throwing plugin is a warning naming plugin and hook, with its hint; the others still run', async () => {
    const calls: string[] = [];
    const { hooks, reporter } = runner([
      active('broken', { beforeSync: () => { throw Object.assign(new Error('no API key'), { hint: 'mltoolbox secret set KEY' }); } }),
      active('fine', { beforeSync: () => void calls.push('fine') }),
    ]);
    await hooks.sequential('beforeSync', syncPayload, scope);
    assert.deepEqual(calls, ['fine']);
    const warning = reporter.lines.find((l) => l.startsWith('warn:'))!;
    assert.match(warning, /plugin broken failed in hook beforeSync: no API key \(continuing without it\)/);
    assert.match(warning, /hint: mltoolbox secret set KEY/);
  });

  it('non-Error throws and rejections are wrapped too', async () => {
    const { hooks, reporter } = runner([
      active('str', { afterSync: () => { throw 'plain string'; } }),
      active('obj', { afterSync: async () => Promise.reject({ weird: true }) }),
    ]);
    await hooks.parallel('afterSync', { ...syncPayload, result: { filesTransferred: 0, bytes: 0, deleted: 0, durationMs: 0 } }, scope);
    const warnings = reporter.lines.filter((l) => l.startsWith('warn:')).join('\n');
    assert.match(warnings, /plugin str failed in hook afterSync: plain string/);
    assert.match(warnings, /plugin obj failed in hook afterSync: threw \{"weird":true\}/);
  });

  it('a hook that hangs times out, its signal is aborted, and the step goes on', async () => {
    let signal: AbortSignal | undefined;
    const calls: string[] = [];
    const { hooks, reporter } = runner([
      active('hangs', { containerStart: (_p, context) => { signal = context.signal; return new Promise(() => {}); } }, { timeoutMs: 50 }),
      active('after', { containerStart: () => void calls.push('after') }),
    ]);
    const started = Date.now();
    await hooks.sequential('containerStart', { container: { id: '1', name: 'c', image: 'i', action: 'created', ports: [], workdir: '/w' }, config: {} }, scope);
    assert.ok(Date.now() - started < 900);
    assert.equal(signal?.aborted, true);
    assert.deepEqual(calls, ['after']);
    assert.match(reporter.lines.join('\n'), /plugin hangs failed in hook containerStart: did not finish within 50 ms/);
  });

  it('a per-hook timeoutMs wins over the entry and the default', async () => {
    const { hooks, reporter } = runner([active('p', { beforeSync: { handler: () => new Promise((r) => setTimeout(r, 200)), timeoutMs: 20 } }, { timeoutMs: 5000 })]);
    await hooks.sequential('beforeSync', syncPayload, scope);
    assert.match(reporter.lines.join('\n'), /did not finish within 20 ms/);
  });

  it('a required plugin that throws fails the step with PLUGIN_HOOK_FAILED naming it', async () => {
    const calls: string[] = [];
    const { hooks } = runner([
      active('must', { beforeSync: () => { throw new Error('boom'); } }, { required: true }),
      active('next', { beforeSync: () => void calls.push('next') }),
    ]);
    await assert.rejects(hooks.sequential('beforeSync', syncPayload, scope), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'PLUGIN_HOOK_FAILED');
      assert.equal(error.message, 'plugin must failed in hook beforeSync: boom');
      assert.deepEqual(error.data, { plugin: 'must', hook: 'beforeSync' });
      return true;
    });
    assert.deepEqual(calls, []);
  });

  it('a required plugin that hangs fails with PLUGIN_HOOK_TIMEOUT; parallel siblings still finish', async () => {
    const calls: string[] = [];
    const { hooks } = runner([
      active('must', { connectComplete: () => new Promise(() => {}) }, { required: true, timeoutMs: 30 }),
      active('other', { connectComplete: async () => { await new Promise((r) => setTimeout(r, 10)); calls.push('other'); } }),
    ]);
    const container = { id: '1', name: 'c', image: 'i', action: 'reused' as const, ports: [], workdir: '/w' };
    await assert.rejects(hooks.parallel('connectComplete', { target: 't', project: 'p', container, forwards: [] }, scope), { code: 'PLUGIN_HOOK_TIMEOUT' });
    assert.deepEqual(calls, ['other']);
  });

  it('reduce rejects a result that is not an object, keeping the previous config', async () => {
    const { hooks, reporter } = runner([active('bad', { configLoaded: () => 'nope' as unknown as Record<string, unknown> })]);
    const result = await hooks.reduce('configLoaded', { config: { a: 1 } }, scope);
    assert.deepEqual(result.config, { a: 1 });
    assert.match(reporter.lines.join('\n'), /plugin bad failed in hook configLoaded: returned string/);
  });
});
