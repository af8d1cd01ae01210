import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { UserError } from '../../../../src/core/errors.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { createPluginHost } from '../../../../src/orchestrators/plugins/plugin-host.ts';
import { loadConfig } from '../../../../src/services/config/loader.ts';
import { configJsonSchema, createConfigSchema } from '../../../../src/services/config/schema.ts';
import { definePlugin, type Plugin } from '../../../../src/plugin-api/index.ts';

const EXAMPLE = new URL('../../../../examples/mltoolbox-plugin-example', import.meta.url).pathname;

const pluginFile = (name: string, extra = '', apiVersion = '1.0') =>
  `export default { name: '${name}', version: '0.1.0', apiVersion: '${apiVersion}', hooks: { beforeSync() {} }${extra} };\n`;

const builtin: Plugin = definePlugin({
  name: 'builtin-demo',
  version: '2.0.0',
  apiVersion: '1.0',
  config: { key: 'demo', schema: z.strictObject({ level: z.number().int().describe('How loud.') }) },
  hooks: { afterSync: () => {} },
});

/** A sandbox: config dir with a plugins folder, a project with node_modules. */
function sandbox(files: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'mlt-plugins-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(join(root, 'project'), { recursive: true });
  const reporter = createRecordingReporter();
  const host = createPluginHost({
    builtins: async () => [builtin],
    pluginsDir: join(root, 'config', 'plugins'),
    projectDir: join(root, 'project'),
    homeDir: root,
    env: {},
    reporter,
    secrets: async () => ({ get: async () => undefined }),
    packageDirs: [join(root, 'project', 'node_modules')],
  });
  const load = (yaml: string) => {
    writeFileSync(join(root, 'project', 'mltoolbox.yaml'), yaml);
    return loadConfig({
      projectDir: join(root, 'project'),
      env: {},
      paths: { configDir: join(root, 'config'), systemConfigFile: join(root, 'etc', 'config.yaml') },
      mode: 'redact',
      pluginSections: (config, context) => host.configSections(config, context),
    });
  };
  return { root, host, reporter, load };
}

describe('plugin host: loading', () => {
  it('enables a built-in, a file in the plugins folder, a path and a package, in plugins: order', async () => {
    const { root, host, load } = sandbox({
      'config/plugins/local-one.mjs': pluginFile('local-one'),
      'project/tools/by-path.mjs': pluginFile('by-path'),
    });
    cpSync(EXAMPLE, join(root, 'project', 'node_modules', 'mltoolbox-plugin-example'), { recursive: true });
    await load('plugins:\n  - builtin-demo\n  - local-one\n  - ./tools/by-path.mjs\n  - name: example\n    required: true\n    options: { record_file: /tmp/x }\n');
    const active = host.active();
    assert.deepEqual(active.map((a) => a.plugin.name), ['builtin-demo', 'local-one', 'by-path', 'example']);
    assert.deepEqual(active.map((a) => a.source.kind), ['builtin', 'file', 'file', 'package']);
    assert.equal(active[3]!.entry.required, true);
    assert.deepEqual(active[3]!.entry.options, { record_file: '/tmp/x' });
  });

  it('a file plugin is found by its name even when the file is named otherwise', async () => {
    const { host, load } = sandbox({ 'config/plugins/whatever.js': pluginFile('renamed') });
    await load('plugins: [renamed]\n');
    assert.deepEqual(host.active().map((a) => a.plugin.name), ['renamed']);
  });

  it('an unknown plugin is a warning and is skipped; a required one fails the config load', async () => {
    const { host, reporter, load } = sandbox();
    await load('plugins: [nope]\n');
    assert.deepEqual(host.active(), []);
    assert.match(reporter.lines.join('\n'), /plugin nope: no plugin named nope \(skipped\)/);
    await assert.rejects(load('plugins:\n  - name: nope2\n    required: true\n'), { code: 'PLUGIN_NOT_FOUND' });
  });

  it('refuses another API major with a clear message; warns on a newer minor', async () => {
    const { host, reporter, load } = sandbox({
      'config/plugins/future.mjs': pluginFile('future', '', '2.0'),
      'config/plugins/newer.mjs': pluginFile('newer', '', '1.9'),
    });
    await load('plugins: [future, newer]\n');
    assert.deepEqual(host.active().map((a) => a.plugin.name), ['newer']);
    const text = reporter.lines.join('\n');
    assert.match(text, /plugin future targets plugin API 2\.0, but this mltoolbox provides 1\.2/);
    assert.match(text, /plugin newer targets plugin API 1\.9, newer than this mltoolbox's 1\.2/);
    await assert.rejects(load('plugins:\n  - name: future\n    required: true\n'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'PLUGIN_API_MISMATCH');
      assert.match(error.hint, /update mltoolbox/);
      return true;
    });
  });

  it('a module that throws on import or exports no plugin is reported, not fatal', async () => {
    const { host, reporter, load } = sandbox({
      'config/plugins/throws.mjs': 'throw new Error("kaboom");\n',
      'config/plugins/empty.mjs': 'export const x = 1;\n',
    });
    await load('plugins: [throws, empty]\n');
    assert.deepEqual(host.active(), []);
    const text = reporter.lines.join('\n');
    assert.match(text, /plugin throws could not be loaded from .*throws\.mjs: kaboom/);
    assert.match(text, /empty\.mjs is not a valid mltoolbox plugin/);
  });

  it('enabled: false keeps the entry but does not load it', async () => {
    const { host, load } = sandbox({ 'config/plugins/off.mjs': pluginFile('off') });
    await load('plugins:\n  - name: off\n    enabled: false\n');
    assert.deepEqual(host.active(), []);
    const rows = await host.list();
    assert.equal(rows.find((r) => r.name === 'off')?.enabled, false);
  });
});

describe('plugin host: config sections', () => {
  it('validates a built-in section (zod) with positions', async () => {
    const { load } = sandbox();
    await assert.rejects(load('demo:\n  level: loud\n'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.match(error.details.join('\n'), /mltoolbox\.yaml:2:10.*demo\.level: expected a whole number|demo\.level: expected a number/s);
      return true;
    });
  });

  it('validates an external plugin\'s JSON Schema section, and unknown sections stay errors until enabled', async () => {
    const { root, load } = sandbox();
    cpSync(EXAMPLE, join(root, 'project', 'node_modules', 'mltoolbox-plugin-example'), { recursive: true });
    await assert.rejects(load('example:\n  greeting: hi\n'), /the configuration is invalid/);
    const loaded = await load('plugins: [example]\nexample:\n  greeting: hi\n');
    assert.deepEqual((loaded.config as Record<string, unknown>).example, { greeting: 'hi' });
    await assert.rejects(load('plugins: [example]\nexample:\n  greting: hi\n'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.details.join('\n'), /mltoolbox\.yaml:3/);
      return true;
    });
  });

  it('validates a Standard Schema from another library through ~standard, mapping issue paths to positions', async () => {
    const { root, load } = sandbox();
    // A schema that is not our zod: only the Standard Schema interface.
    writeFileSync(join(root, 'std.mjs'), `
      export default { name: 'std', version: '1.0.0', apiVersion: '1.0', config: { schema: { '~standard': { version: 1, vendor: 'mini',
        validate: (v) => typeof v?.url === 'string' ? { value: v } : { issues: [{ message: 'url must be a string', path: [{ key: 'url' }] }] },
        jsonSchema: { input: () => ({ $schema: 'x', type: 'object', properties: { url: { type: 'string' } } }) } } } } };
    `);
    mkdirSync(join(root, 'config', 'plugins'), { recursive: true });
    cpSync(join(root, 'std.mjs'), join(root, 'config', 'plugins', 'std.mjs'));
    await assert.rejects(load('plugins: [std]\nstd:\n  url: 3\n'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.details.join('\n'), /mltoolbox\.yaml:3:8.*std\.url: url must be a string/s);
      return true;
    });
    const loaded = await load('plugins: [std]\nstd:\n  url: https://x\n');
    assert.deepEqual((loaded.config as Record<string, unknown>).std, { url: 'https://x' });
  });

  it('the plugins: entry itself is checked: one of name, path or package', async () => {
    const { load } = sandbox();
    await assert.rejects(load('plugins:\n  - name: a\n    path: ./b.mjs\n'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.details.join('\n'), /set only one of name, path, package/);
      return true;
    });
  });

  it('schemaSections puts every available plugin\'s section in the JSON Schema', async () => {
    const { root, host } = sandbox();
    cpSync(EXAMPLE, join(root, 'project', 'node_modules', 'mltoolbox-plugin-example'), { recursive: true });
    const json = configJsonSchema(createConfigSchema(await host.schemaSections())) as { properties: Record<string, { properties?: Record<string, unknown> }> };
    assert.ok(json.properties.demo?.properties?.level);
    assert.ok(json.properties.example?.properties?.greeting);
  });
});

describe('plugin host: list and doctor', () => {
  it('lists enabled plugins first, then everything available, with hooks and kinds', async () => {
    const { root, host, load } = sandbox({ 'config/plugins/local-one.mjs': pluginFile('local-one') });
    cpSync(EXAMPLE, join(root, 'project', 'node_modules', 'mltoolbox-plugin-example'), { recursive: true });
    await load('plugins: [example]\n');
    const rows = await host.list();
    assert.deepEqual(rows.map((r) => [r.name, r.enabled, r.sourceKind]), [
      ['example', true, 'package'], ['builtin-demo', false, 'builtin'], ['local-one', false, 'file'],
    ]);
    const example = rows[0]!;
    assert.ok(example.hooks.some((h) => h.name === 'containerStart' && h.kind === 'sequential' && h.order === 'pre'));
    assert.deepEqual(example.commands, ['example hello']);
  });

  it('doctor fails an enabled plugin that cannot be used and warns about a broken available one', async () => {
    const { host, load } = sandbox({ 'config/plugins/broken.mjs': 'export default 42;\n' });
    await load('plugins: [missing]\n');
    const checks = await host.doctor();
    assert.equal(checks.find((c) => c.plugin === 'missing')?.status, 'fail');
    assert.ok(checks.some((c) => c.status === 'warn' && /broken\.mjs/.test(c.plugin)));
    assert.ok(checks.some((c) => c.plugin === 'builtin-demo' && c.status === 'ok'));
  });
});
