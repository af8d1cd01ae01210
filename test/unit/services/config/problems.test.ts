import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatOrigin, keyPathToString } from '../../../../src/services/config/layer.ts';
import { displayPath, formatProblem, problemsError, snippet } from '../../../../src/services/config/problems.ts';

describe('positions and snippets', () => {
  it('keyPathToString and formatOrigin', () => {
    assert.equal(keyPathToString(['environment', 'ports', 0]), 'environment.ports[0]');
    assert.equal(formatOrigin({ kind: 'project', file: '/p/m.yaml', line: 3, column: 9 }), '/p/m.yaml:3:9');
    assert.equal(formatOrigin({ kind: 'env', name: 'MLTOOLBOX_REMOTE_HOST' }), 'env MLTOOLBOX_REMOTE_HOST');
    assert.equal(formatOrigin({ kind: 'flag', name: '--host' }), 'flag --host');
    assert.equal(formatOrigin({ kind: 'profile', name: 'ml-research ($HF_TOKEN)' }), 'profile ml-research ($HF_TOKEN)');
    assert.equal(formatOrigin({ kind: 'default' }), 'default');
  });
  it('snippet puts a caret under the column, keeping tabs', () => {
    assert.deepEqual(snippet('a: 1\nbb: x\n', 2, 5), ['   2 | bb: x', '     |     ^']);
    assert.deepEqual(snippet('\tkey: v', 1, 3), ['   1 | \tkey: v', '     | \t ^']);
    assert.deepEqual(snippet(undefined, 1, 1), []);
    assert.deepEqual(snippet('a', 9, 1), []);
  });
  it('displayPath is relative inside the project, absolute outside', () => {
    assert.equal(displayPath('/p/mltoolbox.yaml', '/p'), 'mltoolbox.yaml');
    assert.equal(displayPath('/etc/mltoolbox/config.yaml', '/p'), '/etc/mltoolbox/config.yaml');
    assert.equal(displayPath('/p2/x', '/p'), '/p2/x');
  });
  it('problemsError carries details and structured positions', () => {
    const origin = { kind: 'project' as const, file: '/p/m.yaml', line: 1, column: 4 };
    const error = problemsError('CONFIG_INVALID', 'bad', 'fix it', [{ message: 'x: wrong', origin, key: 'x' }], new Map([['/p/m.yaml', 'x: 1\n']]), '/p');
    assert.equal(error.message, 'bad (1 problem)');
    assert.deepEqual(error.details, ['m.yaml:1:4: x: wrong', '   1 | x: 1', '     |    ^']);
    assert.deepEqual(error.data, { problems: [{ message: 'x: wrong', key: 'x', origin: 'project', where: 'm.yaml:1:4', file: '/p/m.yaml', line: 1, column: 4 }] });
    assert.deepEqual(formatProblem({ message: 'no origin' }, new Map(), undefined), ['no origin']);
  });
});
