import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPositionLookup } from '../../../../../src/services/config/devcontainer/jsonc.ts';
import { mountToVolume, parseMountObject, parseMountString } from '../../../../../src/services/config/devcontainer/mounts.ts';
import { parseGpus, parseRunArgs } from '../../../../../src/services/config/devcontainer/run-args.ts';
import { substituteVariables } from '../../../../../src/services/config/devcontainer/variables.ts';

describe('runArgs parser', () => {
  it('reads --gpus values', () => {
    assert.deepEqual(parseGpus('all'), { kind: 'all' });
    assert.deepEqual(parseGpus('"all"'), { kind: 'all' });
    assert.deepEqual(parseGpus('2'), { kind: 'count', count: 2 });
    assert.deepEqual(parseGpus('"device=0,2"'), { kind: 'devices', devices: ['0', '2'] });
    assert.deepEqual(parseGpus('device=GPU-3a2b'), { kind: 'devices', devices: ['GPU-3a2b'] });
    assert.deepEqual(parseGpus('count=4,capabilities=compute'), { kind: 'count', count: 4 });
    assert.equal(parseGpus('bogus'), undefined);
  });

  it('keeps an unknown flag with its value, and boolean flags alone', () => {
    const parsed = parseRunArgs(['--ulimit', 'memlock=-1', '--privileged', '--rm', '--label=a=b', '--gpus', 'all']);
    assert.deepEqual(parsed.map((p) => [p.index, p.effect]), [
      [0, { key: 'passthrough', args: ['--ulimit', 'memlock=-1'] }],
      [2, { key: 'passthrough', args: ['--privileged'] }],
      [3, { key: 'passthrough', args: ['--rm'] }],
      [4, { key: 'passthrough', args: ['--label=a=b'] }],
      [5, { key: 'gpus', value: { kind: 'all' } }],
    ]);
  });

  it('a known flag with no value passes through', () => {
    assert.deepEqual(parseRunArgs(['--gpus']).map((p) => p.effect), [{ key: 'passthrough', args: ['--gpus'] }]);
    assert.deepEqual(parseRunArgs(['--gpus=weird']).map((p) => p.effect), [{ key: 'passthrough', args: ['--gpus=weird'] }]);
  });
});

describe('mount parser', () => {
  it('parses the --mount string form', () => {
    assert.deepEqual(parseMountString('source=/a,target=/b,type=bind,readonly'), { type: 'bind', source: '/a', target: '/b', readonly: true });
    assert.deepEqual(parseMountString('type=volume,src=v,dst=/c'), { type: 'volume', source: 'v', target: '/c', readonly: false });
    assert.deepEqual(parseMountString('target=/d'), { type: 'volume', source: undefined, target: '/d', readonly: false });
  });

  it('parses the object form', () => {
    assert.deepEqual(parseMountObject({ source: 'v', target: '/x', type: 'volume' }), { type: 'volume', source: 'v', target: '/x', readonly: false });
  });

  it('turns mounts into -v specs or says why not', () => {
    assert.deepEqual(mountToVolume({ type: 'bind', source: '/a', target: '/b', readonly: true }), { volume: '/a:/b:ro' });
    assert.deepEqual(mountToVolume({ type: 'volume', target: '/b', readonly: false }), { volume: '/b' });
    assert.ok('reason' in mountToVolume({ type: 'tmpfs', target: '/t', readonly: false }));
    assert.ok('reason' in mountToVolume({ type: 'bind', target: '/t', readonly: false }));
    assert.ok('reason' in mountToVolume({ type: 'bind', source: '/s', readonly: false }));
  });
});

describe('variables', () => {
  const context = { localWorkspaceFolder: '/p/app', containerWorkspaceFolder: '/workspace/app', env: { A: 'x' }, localEnv: 'resolve' as const };
  it('substitutes every devcontainer variable', () => {
    const out = substituteVariables('${localWorkspaceFolder} ${localWorkspaceFolderBasename} ${containerWorkspaceFolder} ${containerWorkspaceFolderBasename} ${localEnv:A} ${env:A} ${localEnv:B:d}', context);
    assert.equal(out.value, '/p/app app /workspace/app app x x d');
    assert.deepEqual(out.unresolved, []);
  });
  it('leaves shell variables alone and reports unknown scheme variables', () => {
    const out = substituteVariables('${HOME} ${X:-y} ${containerEnv:PATH}', context);
    assert.equal(out.value, '${HOME} ${X:-y} $${containerEnv:PATH}');
    assert.deepEqual(out.unresolved, ['${containerEnv:PATH}']);
  });
});

describe('positions', () => {
  it('maps offsets to 1-based line and column', () => {
    const at = createPositionLookup('ab\ncd\n\nef');
    assert.deepEqual(at(0), { line: 1, column: 1 });
    assert.deepEqual(at(4), { line: 2, column: 2 });
    assert.deepEqual(at(7), { line: 4, column: 1 });
  });
});
