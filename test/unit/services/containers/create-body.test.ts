import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createContainerBody, gpuDeviceRequests, parseSize } from '../../../../src/services/containers/create-body.ts';

const invalid = (error: unknown) => error instanceof UserError && error.code === 'CONTAINER_SPEC_INVALID';

describe('parseSize', () => {
  it('reads docker sizes in binary units', () => {
    assert.equal(parseSize('8g'), 8 * 1024 ** 3);
    assert.equal(parseSize('8G'), 8 * 1024 ** 3);
    assert.equal(parseSize('512m'), 512 * 1024 ** 2);
    assert.equal(parseSize('512mb'), 512 * 1024 ** 2);
    assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('64k'), 65536);
    assert.equal(parseSize('1024'), 1024);
    assert.equal(parseSize(2048), 2048);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'lots', '8x', '-1g', -1, 1.5]) {
      assert.throws(() => parseSize(bad), invalid, String(bad));
    }
  });
});

describe('gpuDeviceRequests', () => {
  it('maps all, a count, and device ids like docker --gpus', () => {
    assert.deepEqual(gpuDeviceRequests({ count: 'all' }), [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({}), [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({ count: 1 }), [{ Driver: 'nvidia', Count: 1, Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({ devices: ['GPU-1234'] }), [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['GPU-1234'], Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({ count: 0 }), []);
  });
});

describe('createContainerBody', () => {
  it('is minimal for a minimal spec', () => {
    assert.deepEqual(createContainerBody({ spec: { project: 'p', name: 'n', image: 'img' }, labels: { a: 'b' }, deviceRequests: [] }), {
      Image: 'img',
      Labels: { a: 'b' },
      HostConfig: {},
    });
  });
  it('lets a secret win over a plain variable of the same name', () => {
    const body = createContainerBody({ spec: { project: 'p', name: 'n', image: 'img', env: { T: 'plain' }, secretEnv: { T: 'secret' } }, labels: {}, deviceRequests: [] });
    assert.deepEqual(body.Env, ['T=secret']);
  });
});
