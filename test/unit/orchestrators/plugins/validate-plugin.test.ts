import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkApiVersion, checkPluginShape, sectionKey } from '../../../../src/orchestrators/plugins/validate-plugin.ts';

describe('plugin API version check', () => {
  it('accepts the same major with an older or equal minor', () => {
    assert.deepEqual(checkApiVersion('p', '1.0', '1.0'), { ok: true });
    assert.deepEqual(checkApiVersion('p', '1.0', '1.3'), { ok: true });
    assert.deepEqual(checkApiVersion('p', '1.0.2', '1.0'), { ok: true });
  });

  it('warns on a newer minor', () => {
    const result = checkApiVersion('p', '1.4', '1.0');
    assert.equal(result.ok, true);
    assert.match(result.ok ? result.warning ?? '' : '', /plugin p targets plugin API 1\.4, newer than this mltoolbox's 1\.0/);
  });

  it('refuses another major with a clear message and what to update', () => {
    const newer = checkApiVersion('p', '2.0', '1.0');
    assert.equal(newer.ok, false);
    if (!newer.ok) {
      assert.match(newer.message, /plugin p targets plugin API 2\.0, but this mltoolbox provides 1\.0/);
      assert.match(newer.hint, /update mltoolbox/);
    }
    const older = checkApiVersion('p', '0.9', '1.0');
    assert.equal(older.ok, false);
    if (!older.ok) assert.match(older.hint, /update the plugin p/);
  });

  it('refuses a version that is not one', () => {
    const result = checkApiVersion('p', 'latest', '1.0');
    assert.equal(result.ok, false);
  });
});

describe('plugin shape', () => {
  it('names every problem', () => {
    const { problems } = checkPluginShape({ name: 'Bad Name', hooks: { afterSync: 42, beforeSync: { handler: () => {}, order: 'first' } } });
    assert.ok(problems.some((p) => p.startsWith('name must be')));
    assert.ok(problems.some((p) => p.startsWith('version must be')));
    assert.ok(problems.some((p) => p.startsWith('apiVersion must be')));
    assert.ok(problems.includes('hooks.afterSync must be a function or { handler, order }'));
    assert.ok(problems.includes("hooks.beforeSync.order must be 'pre' or 'post'"));
  });

  it('warns about unknown hooks instead of failing (a newer minor may add some)', () => {
    const result = checkPluginShape({ name: 'ok', version: '1.0.0', apiVersion: '1.0', hooks: { somethingNew: () => {} } });
    assert.deepEqual(result.problems, []);
    assert.match(result.warnings[0]!, /unknown hook 'somethingNew'/);
  });

  it('rejects a module without a plugin object', () => {
    assert.deepEqual(checkPluginShape(undefined).problems, ['the module does not export a plugin object']);
  });

  it('section key defaults to the name with _ for -', () => {
    assert.equal(sectionKey({ name: 'gpu-metrics', version: '1', apiVersion: '1.0' }), 'gpu_metrics');
    assert.equal(sectionKey({ name: 'x', version: '1', apiVersion: '1.0', config: { key: 'other', schema: {} } }), 'other');
  });
});
