import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { containerEnvText, cumulativeEnvFiles, inPlacePlan, podProjectDir } from '../../../../src/services/features/in-place.ts';
import type { ResolvedFeature } from '../../../../src/services/features/resolve.ts';

const feature = (id: string, digest: string, env: Record<string, string>, containerEnv: Record<string, string> = {}) =>
  ({ userId: `./${id}`, digest, options: { env, values: {} }, metadata: { id, containerEnv } }) as unknown as ResolvedFeature;

describe('features installed in a running pod', () => {
  it('containerEnv as sh: ${NAME} and $NAME expand as Docker ENV does; nothing else is code', () => {
    const text = containerEnvText({ PATH: '/opt/x/bin:${PATH}', HOME_X: '$HOME/x', EVIL: '$(touch /tmp/pwned) `id` "q" \\ ${a-b}', 'BAD-NAME': 'x', LINE: 'a\nexport B=1' });
    assert.equal(text.split('\n').filter(Boolean).length, 4, 'one line per valid name; a newline never starts another');
    const out = execFileSync('sh', ['-c', `${text}\nprintf '%s|%s|%s|%s|%s' "$PATH" "$HOME_X" "$EVIL" "$LINE" "\${B:-unset}"`], { env: { PATH: '/usr/bin:/bin', HOME: '/h' } }).toString();
    assert.equal(out, '/opt/x/bin:/usr/bin:/bin|/h/x|$(touch /tmp/pwned) `id` "q" \\ ${a-b}|a export B=1|unset');
  });

  it('each feature\'s install sees the containerEnv of itself and the features before it', () => {
    const files = cumulativeEnvFiles([feature('a', 'd1', {}, { A: '1' }), feature('b', 'd2', {}, { B: '2', A: '3' })]);
    assert.equal(files[0], 'export A="1"\n');
    assert.equal(files[1], 'export A="3"\nexport B="2"\n');
  });

  it('keys are chained: a changed feature changes its key and those after it, not those before', () => {
    const a = feature('a', 'da', { X: '1' });
    const b = feature('b', 'db', {});
    const c = feature('c', 'dc', {});
    const base = inPlacePlan({ features: [a, b, c], baseUser: '' }, {}, '[]');
    const changed = inPlacePlan({ features: [a, feature('b', 'db', { FLAVOR: 'mint' }), c], baseUser: '' }, {}, '[]');
    assert.equal(changed.keys[0], base.keys[0]);
    assert.notEqual(changed.keys[1], base.keys[1]);
    assert.notEqual(changed.keys[2], base.keys[2]);
    assert.deepEqual(inPlacePlan({ features: [a, b, c], baseUser: '' }, {}, '[]'), base, 'stable');
    assert.notEqual(inPlacePlan({ features: [a, b, c], baseUser: '', remoteUser: 'dev' }, {}, '[]').keys[0], base.keys[0], 'the users are part of what install.sh saw');
    assert.notEqual(inPlacePlan({ features: [a, b, c], baseUser: '' }, { A: '1' }, '[]').record, base.record, 'the project record covers its env');
  });

  it('the project folder in the pod is a plain name', () => {
    assert.equal(podProjectDir('my-proj'), '/var/lib/mltoolbox/projects/my-proj');
    assert.equal(podProjectDir('../../etc x'), '/var/lib/mltoolbox/projects/_-..-etc-x');
  });
});
