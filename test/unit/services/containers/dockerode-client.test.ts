import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toEngineError } from '../../../../src/services/containers/dockerode-client.ts';

describe('dockerode errors', () => {
  it('keep the engine message and status of API answers', () => {
    const e = toEngineError(Object.assign(new Error('(HTTP code 404) no such container - No such container: x '), { statusCode: 404, json: { message: 'No such container: x' } }));
    assert.equal(e.statusCode, 404);
    assert.equal(e.message, 'No such container: x');
    const raw = toEngineError(Object.assign(new Error('(HTTP code 500) server error - driver failed: port is already allocated '), { statusCode: 500, json: null }));
    assert.equal(raw.message, 'driver failed: port is already allocated');
  });
  it('keep the errno of connection failures', () => {
    assert.equal(toEngineError(Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' })).errno, 'EACCES');
    assert.equal(toEngineError(new Error('socket hang up')).errno, 'ESOCKETHANGUP');
  });
});
