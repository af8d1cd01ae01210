import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYamlLayer } from '../../../../src/services/config/yaml-layer.ts';
import { userError } from './helpers.ts';

const FILE = '/p/mltoolbox.yaml';

describe('parseYamlLayer', () => {
  it('records file:line:column for every value, and key positions', () => {
    const layer = parseYamlLayer('remote:\n  host: gpu\n  port: 22\nenvironment:\n  ports:\n    - 8888\n    - "6006:6006"\n', FILE, 'project');
    assert.deepEqual(layer.value, { remote: { host: 'gpu', port: 22 }, environment: { ports: [8888, '6006:6006'] } });
    assert.deepEqual(layer.origins.get('remote.host'), { kind: 'project', file: FILE, line: 2, column: 9 });
    assert.deepEqual(layer.origins.get('remote.port'), { kind: 'project', file: FILE, line: 3, column: 9 });
    assert.deepEqual(layer.origins.get('remote'), { kind: 'project', file: FILE, line: 1, column: 1 });
    assert.deepEqual(layer.origins.get('environment.ports[1]'), { kind: 'project', file: FILE, line: 7, column: 7 });
    assert.deepEqual(layer.keyOrigins?.get('remote.port'), { kind: 'project', file: FILE, line: 3, column: 3 });
    assert.equal(layer.source?.startsWith('remote:'), true);
  });

  it('an empty file is an empty layer', () => {
    assert.deepEqual(parseYamlLayer('', FILE, 'user').value, {});
    assert.deepEqual(parseYamlLayer('# only a comment\n', FILE, 'user').value, {});
  });

  it('syntax errors are CONFIG_UNREADABLE with position and a caret', async () => {
    const error = await userError(() => parseYamlLayer('remote:\n  host: a: b\n', FILE, 'project'), 'CONFIG_UNREADABLE');
    assert.equal(error.exitCode, 3);
    assert.match(error.details[0]!, /^\/p\/mltoolbox\.yaml:2:\d+: /);
    assert.ok(error.details.some((d) => /\|\s+\^/.test(d)), error.details.join('\n'));
    const problems = error.data!.problems as { line: number }[];
    assert.equal(problems[0]!.line, 2);
  });

  it('duplicate keys are errors, not last-one-wins', async () => {
    const error = await userError(() => parseYamlLayer('remote:\n  host: a\n  host: b\n', FILE, 'project'), 'CONFIG_UNREADABLE');
    assert.match(error.details[0]!, /:3:3: .*unique/i);
  });

  it('a document that is not a mapping is rejected', async () => {
    const error = await userError(() => parseYamlLayer('- a\n- b\n', FILE, 'project'), 'CONFIG_UNREADABLE');
    assert.match(error.details[0]!, /must be a mapping/);
    await userError(() => parseYamlLayer('just text\n', FILE, 'project'), 'CONFIG_UNREADABLE');
  });

  it('several documents are rejected', async () => {
    await userError(() => parseYamlLayer('a: 1\n---\nb: 2\n', FILE, 'project'), 'CONFIG_UNREADABLE');
  });

  it('aliases resolve, and their origin is where the alias is used', () => {
    const layer = parseYamlLayer('x: &v [1, 2]\ny: *v\n', FILE, 'project');
    assert.deepEqual(layer.value, { x: [1, 2], y: [1, 2] });
    assert.equal(layer.origins.get('y')?.line, 2);
  });

  it('a key named __proto__ is an ordinary key (no prototype pollution)', () => {
    const layer = parseYamlLayer('__proto__:\n  polluted: true\n', FILE, 'project');
    assert.deepEqual(Object.keys(layer.value), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('non-scalar keys are rejected with a position', async () => {
    const error = await userError(() => parseYamlLayer('? [a, b]\n: 1\n', FILE, 'project'), 'CONFIG_UNREADABLE');
    assert.match(error.details[0]!, /:1:\d+: mapping keys must be plain words/);
  });
});
