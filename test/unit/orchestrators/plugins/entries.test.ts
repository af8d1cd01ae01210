import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPluginEntries } from '../../../../src/orchestrators/plugins/entries.ts';

const options = { projectDir: '/work/proj', homeDir: '/home/me' };

describe('plugins: entries', () => {
  it('reads names, paths and packages from strings', () => {
    const entries = readPluginEntries({ plugins: ['ray', './x.mjs', '~/p/y.js', 'mltoolbox-plugin-foo', '@acme/mltoolbox-plugin-bar'] }, options);
    assert.deepEqual(entries.map((e) => e.ref), [
      { kind: 'name', name: 'ray' },
      { kind: 'path', path: '/work/proj/x.mjs' },
      { kind: 'path', path: '/home/me/p/y.js' },
      { kind: 'package', name: 'mltoolbox-plugin-foo' },
      { kind: 'package', name: '@acme/mltoolbox-plugin-bar' },
    ]);
    assert.ok(entries.every((e) => e.enabled && !e.required && e.timeoutMs === undefined));
  });

  it('reads the long form, resolving a path against the config file that wrote it', () => {
    const origins = new Map([['plugins[0].path', { kind: 'user' as const, file: '/home/me/.config/mltoolbox/config.yaml', line: 2 }]]);
    const [entry] = readPluginEntries({ plugins: [{ path: 'plugins/a.mjs', required: true, timeout_ms: 500, enabled: false, options: { a: 1 } }] }, { ...options, origins });
    assert.deepEqual(entry, {
      ref: { kind: 'path', path: '/home/me/.config/mltoolbox/plugins/a.mjs' },
      label: 'plugins/a.mjs', enabled: false, required: true, timeoutMs: 500, options: { a: 1 },
    });
  });

  it('skips malformed entries (the schema reports them with positions)', () => {
    assert.deepEqual(readPluginEntries({ plugins: [42, null, { required: true }, ''] }, options), []);
    assert.deepEqual(readPluginEntries({ plugins: 'ray' }, options), []);
  });
});
