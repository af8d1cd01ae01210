import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFeatureMetadata } from '../../../../src/services/features/metadata.ts';
import { envFileText, optionEnvName, resolveOptions } from '../../../../src/services/features/options.ts';

const python = parseFeatureMetadata(JSON.stringify({
  id: 'python',
  options: {
    version: { type: 'string', enum: ['latest', '3.10', '3.9'], default: 'latest' },
    pip: { type: 'boolean', default: true },
    optimize: { type: 'boolean', default: true },
    'install-tools': { type: 'string', proposals: ['a', 'b'], default: 'a' },
  },
}));

describe('feature options', () => {
  it('option names become variables as the spec says', () => {
    assert.equal(optionEnvName('version'), 'VERSION');
    assert.equal(optionEnvName('install-tools'), 'INSTALL_TOOLS');
    assert.equal(optionEnvName('nodeGypDependencies'), 'NODEGYPDEPENDENCIES');
    assert.equal(optionEnvName('1st.option'), '_ST_OPTION');
    assert.equal(optionEnvName('__x'), '_X');
  });

  it('the spec example: given values win, omitted ones take their defaults', () => {
    const resolved = resolveOptions(python, { version: '3.10', pip: false });
    assert.deepEqual(resolved.problems, []);
    assert.deepEqual(resolved.env, { VERSION: '3.10', PIP: 'false', OPTIMIZE: 'true', INSTALL_TOOLS: 'a' });
    assert.deepEqual(resolved.values, { version: '3.10', pip: false, optimize: true, 'install-tools': 'a' });
  });

  it('type checks: a boolean option needs a boolean, a string option a string, enum membership', () => {
    const resolved = resolveOptions(python, { pip: 'yes', version: '3.11', 'install-tools': true });
    assert.deepEqual(resolved.problems.map((p) => p.option), ['pip', 'version', 'install-tools']);
    assert.match(resolved.problems[0]!.message, /is a boolean: write true or false, not "yes"/);
    assert.match(resolved.problems[1]!.message, /must be one of "latest", "3.10", "3.9", not "3.11"/);
    assert.match(resolved.problems[2]!.message, /is a string, not a boolean/);
  });

  it('a number for a string option is refused with the YAML hint; proposals allow free values', () => {
    const resolved = resolveOptions(python, { version: 3.1, 'install-tools': 'c' });
    assert.equal(resolved.problems.length, 1);
    assert.match(resolved.problems[0]!.message, /quote it: "3.1"/);
    assert.equal(resolved.values['install-tools'], 'c');
  });

  it('unknown options are passed through and listed; a near miss is a problem with a suggestion', () => {
    const resolved = resolveOptions(python, { extra: 'x', verison: '3.9' });
    assert.deepEqual(resolved.unknown, ['extra', 'verison']);
    assert.equal(resolved.env.EXTRA, 'x');
    assert.match(resolved.problems.map((p) => p.message).join('\n'), /no option 'verison'; did you mean 'version'/);
  });

  it('the env file quotes values so nothing is expanded or injected', () => {
    assert.equal(envFileText({ A: "it's $HOME\nB=2", C: 'x' }), "A='it'\\''s $HOME\nB=2'\nC='x'\n");
  });
});

describe('devcontainer-feature.json', () => {
  it('reads the properties an implementation acts on and checks their types', () => {
    const m = parseFeatureMetadata('{ "id": "dind", "version": "2.0.0", "privileged": true, "capAdd": ["SYS_PTRACE"], "containerEnv": { "DOCKER_BUILDKIT": "1" },'
      + ' "mounts": [{ "source": "dind-${devcontainerId}", "target": "/var/lib/docker", "type": "volume" }, "type=tmpfs,target=/tmp/x"],'
      + ' "dependsOn": { "ghcr.io/a/b/common:1": { "user": "dev" }, "ghcr.io/a/b/git:1": "2.40" }, "installsAfter": ["ghcr.io/a/b/node"], "postStartCommand": "echo hi", // comment\n }');
    assert.equal(m.privileged, true);
    assert.deepEqual(m.capAdd, ['SYS_PTRACE']);
    assert.deepEqual(m.mounts, [{ type: 'volume', target: '/var/lib/docker', source: 'dind-${devcontainerId}' }, { type: 'tmpfs', target: '/tmp/x' }]);
    assert.deepEqual(m.dependsOn, { 'ghcr.io/a/b/common:1': { user: 'dev' }, 'ghcr.io/a/b/git:1': { version: '2.40' } });
    assert.equal(m.lifecycle.postStartCommand, 'echo hi');
    assert.throws(() => parseFeatureMetadata('{ "id": "x", "options": { "a": { "type": "number" } } }'), /allows "string" and "boolean"/);
    assert.throws(() => parseFeatureMetadata('{ "options": {} }'), /has no 'id'/);
    assert.throws(() => parseFeatureMetadata('{ "id": "x", "containerEnv": { "A B": "1" } }'), /not a valid variable name/);
  });
});
