import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigLayer, OriginKind } from '../../../../src/services/config/layer.ts';
import { mergeLayers } from '../../../../src/services/config/merge.ts';
import { parseYamlLayer } from '../../../../src/services/config/yaml-layer.ts';

const layer = (kind: OriginKind, yaml: string): ConfigLayer => parseYamlLayer(yaml, `/${kind}.yaml`, kind);

describe('mergeLayers', () => {
  it('objects merge key by key; the higher layer wins per key', () => {
    const merged = mergeLayers([layer('user', 'remote:\n  host: a\n  user: alice\n'), layer('project', 'remote:\n  host: b\n')]);
    assert.deepEqual(merged.value, { remote: { host: 'b', user: 'alice' } });
    assert.equal(merged.origins.get('remote.host')?.kind, 'project');
    assert.equal(merged.origins.get('remote.user')?.kind, 'user');
  });

  it('arrays replace, and the lower array\'s item origins are dropped', () => {
    const merged = mergeLayers([layer('user', 'sync:\n  exclude: [a, b, c]\n'), layer('project', 'sync:\n  exclude: [d]\n')]);
    assert.deepEqual(merged.value, { sync: { exclude: ['d'] } });
    assert.equal(merged.origins.get('sync.exclude[0]')?.kind, 'project');
    assert.equal(merged.origins.has('sync.exclude[2]'), false);
  });

  it('scalars replace objects and objects replace scalars', () => {
    const merged = mergeLayers([layer('user', 'a:\n  b: 1\n'), layer('project', 'a: 2\n'), layer('local', 'c: 1\n'), layer('env', 'c:\n  d: 1\n')]);
    assert.deepEqual(merged.value, { a: 2, c: { d: 1 } });
    assert.equal(merged.origins.has('a.b'), false);
    assert.equal(merged.origins.get('c.d')?.kind, 'env');
  });

  it('null or empty values mean "not set here"', () => {
    const merged = mergeLayers([layer('user', 'remote:\n  host: a\n'), layer('project', 'remote:\n  host:\nsync: ~\n')]);
    assert.deepEqual(merged.value, { remote: { host: 'a' } });
    const fresh = mergeLayers([layer('project', 'remote:\n  host: ~\n  user: bob\n')]);
    assert.deepEqual(fresh.value, { remote: { user: 'bob' } });
  });

  it('the image source is one choice: setting dockerfile drops a lower base_image', () => {
    const merged = mergeLayers([
      layer('default', 'environment:\n  base_image: x\n  gpus: optional\n'),
      layer('project', 'environment:\n  dockerfile:\n    path: Dockerfile\n'),
    ]);
    assert.deepEqual(merged.value, { environment: { gpus: 'optional', dockerfile: { path: 'Dockerfile' } } });
    assert.equal(merged.origins.has('environment.base_image'), false);
    const back = mergeLayers([layer('project', 'environment:\n  dockerfile:\n    path: D\n'), layer('env', 'environment:\n  base_image: y\n')]);
    assert.deepEqual(back.value, { environment: { base_image: 'y' } });
  });

  it('does not mutate the layers', () => {
    const low = layer('user', 'remote:\n  host: a\n');
    mergeLayers([low, layer('project', 'remote:\n  host: b\n')]);
    assert.deepEqual(low.value, { remote: { host: 'a' } });
  });

  it('values from layers without positions fall back to the layer kind', () => {
    const flags: ConfigLayer = { kind: 'flag', value: { remote: { host: 'h' } }, origins: new Map() };
    const merged = mergeLayers([flags]);
    assert.deepEqual(merged.origins.get('remote.host'), { kind: 'flag' });
  });
});

describe('mergeLayers and __proto__', () => {
  it('a __proto__ key never reaches Object.prototype', () => {
    const merged = mergeLayers([layer('user', '__proto__:\n  polluted: 1\n'), layer('project', '__proto__:\n  polluted: 2\nremote:\n  __proto__:\n    x: 1\n')]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).x, undefined);
    assert.deepEqual(Object.keys(merged.value), ['__proto__', 'remote']);
  });
});
