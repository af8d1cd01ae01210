import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CreateContainerBody } from '../../../../src/services/containers/engine-client.ts';
import { configHash, stableStringify } from '../../../../src/services/containers/labels.ts';

const body = (over: Partial<CreateContainerBody> = {}): CreateContainerBody => ({ Image: 'img', Labels: {}, HostConfig: {}, ...over });

describe('configHash', () => {
  it('is stable across key order and ignores our own labels', () => {
    const a = configHash(body({ Env: ['A=1'], HostConfig: { ShmSize: 1, Init: true } }), 'sha256:x', []);
    const b = configHash({ HostConfig: { Init: true, ShmSize: 1 }, Env: ['A=1'], Image: 'img', Labels: { 'mltoolbox.config-hash': 'old', 'mltoolbox.version': '9' } }, 'sha256:x', []);
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{16}$/);
  });
  it('changes with any setting, the image id, a user label or a secret value', () => {
    const base = configHash(body({ Env: ['S=one'] }), 'sha256:x', ['S']);
    assert.notEqual(configHash(body({ Env: ['S=two'] }), 'sha256:x', ['S']), base);
    assert.notEqual(configHash(body({ Env: ['S=one'] }), 'sha256:y', ['S']), base);
    assert.notEqual(configHash(body({ Env: ['S=one'], Labels: { team: 'a' } }), 'sha256:x', ['S']), base);
    assert.notEqual(configHash(body({ Env: ['S=one'], HostConfig: { Init: true } }), 'sha256:x', ['S']), base);
  });
});

describe('stableStringify', () => {
  it('sorts keys at every depth and drops undefined', () => {
    assert.equal(stableStringify({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } }), '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});
