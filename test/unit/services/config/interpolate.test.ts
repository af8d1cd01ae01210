import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateString, interpolateTree, type SecretResolver } from '../../../../src/services/config/interpolate.ts';
import type { Origin } from '../../../../src/services/config/layer.ts';

const secrets: SecretResolver = { get: async (name) => (name === 'wandb' ? 's3cr3t' : undefined) };
const expand = (text: string, env: NodeJS.ProcessEnv = {}, mode: 'resolve' | 'redact' = 'resolve') => interpolateString(text, { env, secrets, mode });

describe('interpolation', () => {
  it('${env:NAME} and ${env:NAME:-default}', async () => {
    assert.equal(await expand('${env:A}/x', { A: 'a' }), 'a/x');
    assert.equal(await expand('${env:B:-fallback}', {}), 'fallback');
    assert.equal(await expand('${env:B:-}', {}), '');
    assert.equal(await expand('${env:B:-d}', { B: '' }), 'd', 'empty counts as unset, like the shell');
    assert.equal(await expand('${env:B:-a:-b}', {}), 'a:-b');
  });
  it('${secret:name} resolves through the resolver, or redacts', async () => {
    assert.equal(await expand('key=${secret:wandb}'), 'key=s3cr3t');
    assert.equal(await expand('key=${secret:wandb}', {}, 'redact'), 'key=<secret:wandb>');
  });
  it('redact mode never asks the resolver', async () => {
    let asked = false;
    const out = await interpolateString('${secret:x}', { env: {}, mode: 'redact', secrets: { get: async () => { asked = true; return 'v'; } } });
    assert.equal(out, '<secret:x>');
    assert.equal(asked, false);
  });
  it('$${ is a literal ${', async () => {
    assert.equal(await expand('$${env:A}', { A: 'a' }), '${env:A}');
  });
  it('shell syntax (${HOME}, ${X:-y}) is left for the shell', async () => {
    assert.equal(await expand('echo ${HOME} ${X:-y} $PATH'), 'echo ${HOME} ${X:-y} $PATH');
  });
  it('errors: unset variable, unknown kind, unclosed, missing secret, bad names', async () => {
    await assert.rejects(expand('${env:NOPE}'), /NOPE is not set/);
    await assert.rejects(expand('${localEnv:X}'), /unknown interpolation/);
    await assert.rejects(expand('abc ${env:A'), /unclosed/);
    await assert.rejects(expand('${secret:missing}'), /secret 'missing' is not set; run: mltoolbox secret set missing/);
    await assert.rejects(expand('${env:1X}'), /not a variable name/);
    await assert.rejects(expand('${secret:@x}'), /not a valid secret name/);
    await assert.rejects(interpolateString('${secret:a}', { env: {}, mode: 'resolve' }), /no secret store/);
  });
  it('interpolateTree collects every problem with its origin and lists secret references', async () => {
    const origins = new Map<string, Origin>([
      ['a', { kind: 'project', file: '/m.yaml', line: 1, column: 4 }],
      ['list', { kind: 'project', file: '/m.yaml', line: 2, column: 1 }],
    ]);
    const result = await interpolateTree({ a: '${env:X}', list: ['${env:Y}', 3, '${secret:wandb}'], n: 1 }, origins, { env: {}, secrets, mode: 'resolve' });
    assert.deepEqual(result.problems.map((p) => [p.key, p.origin?.line]), [['a', 1], ['list[0]', 2]]);
    assert.deepEqual(result.secretRefs, [{ key: 'list[2]', name: 'wandb' }]);
    assert.deepEqual(result.value, { a: '${env:X}', list: ['${env:Y}', 3, 's3cr3t'], n: 1 });
  });
});
