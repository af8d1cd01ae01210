import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const ROOT = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { exports: Record<string, { types: string; default: string }>; bin: Record<string, string> };

describe('mltoolbox/plugin package export', () => {
  it('package.json exports ./plugin with types, and keeps the bins', () => {
    assert.deepEqual(pkg.exports['./plugin'], { types: './dist/plugin.d.ts', default: './dist/plugin.js' });
    assert.deepEqual(Object.keys(pkg.bin).sort(), ['mlt', 'mltoolbox']);
  });

  it('the built file exports the runtime helpers', { skip: !existsSync(new URL('dist/plugin.js', ROOT)) && 'run the build first (npm run build)' }, async () => {
    const api = (await import(new URL('dist/plugin.js', ROOT).href)) as Record<string, unknown>;
    assert.equal(typeof api.definePlugin, 'function');
    assert.equal(typeof api.pluginError, 'function');
    assert.match(String(api.PLUGIN_API_VERSION), /^\d+\.\d+$/);
    assert.equal(typeof api.HOOK_KINDS, 'object');
  });
});
