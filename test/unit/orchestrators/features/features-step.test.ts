import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FEATURES_LABEL, lifecycleFromLabels, METADATA_LABEL } from '../../../../src/services/features/index.ts';
import { featureLifecycle, withFeatureContributions, type FeatureStepResult } from '../../../../src/orchestrators/features/features-step.ts';
import type { ContainerSpec } from '../../../../src/services/containers/types.ts';
import type { FeatureContributions } from '../../../../src/services/features/index.ts';

const contributions = (extra: Partial<FeatureContributions> = {}): FeatureContributions => ({
  containerEnv: {}, mounts: [], privileged: false, init: false, capAdd: [], securityOpt: [], entrypoints: [], customizations: [],
  lifecycle: { onCreateCommand: [], updateContentCommand: [], postCreateCommand: [], postStartCommand: [], postAttachCommand: [] },
  ...extra,
});

describe('features in the container plan', () => {
  it('adds mounts (the user\'s own mount of a target wins), privileges, capabilities and the entrypoint', () => {
    const spec = withFeatureContributions<Omit<ContainerSpec, 'image'>>({
      project: 'p', name: 'mlt-p', command: ['sleep', 'infinity'], init: true, capAdd: ['NET_ADMIN'],
      mounts: [{ type: 'bind', source: '/home/me/p', target: '/workspace' }, { type: 'volume', source: 'mine', target: '/cache' }],
    }, contributions({
      mounts: [{ type: 'volume', source: 'theirs', target: '/cache' }, { type: 'tmpfs', target: '/scratch' }],
      privileged: true, capAdd: ['SYS_PTRACE', 'NET_ADMIN'], securityOpt: ['seccomp=unconfined'], entrypoints: ['/init.sh'],
    }));
    assert.deepEqual(spec.mounts, [
      { type: 'bind', source: '/home/me/p', target: '/workspace' }, { type: 'volume', source: 'mine', target: '/cache' }, { type: 'tmpfs', target: '/scratch' },
    ]);
    assert.equal(spec.privileged, true);
    assert.deepEqual(spec.capAdd, ['NET_ADMIN', 'SYS_PTRACE']);
    assert.deepEqual(spec.securityOpt, ['seccomp=unconfined']);
    assert.deepEqual(spec.entrypoint, ['/bin/sh', '-c', '/init.sh\nexec "$@"', '-']);
    assert.deepEqual(spec.command, ['sleep', 'infinity'], 'the command stays: the entrypoint execs it');
  });

  it('without contributions the spec is unchanged', () => {
    const base = { project: 'p', name: 'n', mounts: [] };
    assert.deepEqual(withFeatureContributions(base, contributions()), { ...base, mounts: [] });
  });

  it('features\' lifecycle commands: onCreate before the user\'s on_create, updateContent after it; named commands flattened', () => {
    const featured: FeatureStepResult = {
      image: 'i', action: 'built', installed: [],
      contributions: contributions({
        lifecycle: {
          onCreateCommand: [{ feature: 'a', command: 'echo a' }],
          updateContentCommand: [{ feature: 'b', command: ['echo', 'b'] }],
          postCreateCommand: [{ feature: 'c', command: { one: 'echo 1', two: ['echo', '2'] } }],
          postStartCommand: [],
          postAttachCommand: [{ feature: 'd', command: 'echo attached' }],
        },
      }),
    };
    assert.deepEqual(featureLifecycle(featured.contributions.lifecycle, 'on_create_command', 'before'), [{ command: 'echo a', feature: 'a' }]);
    assert.deepEqual(featureLifecycle(featured.contributions.lifecycle, 'on_create_command', 'after'), [{ command: ['echo', 'b'], feature: 'b' }]);
    assert.deepEqual(featureLifecycle(featured.contributions.lifecycle, 'post_create_command', 'before'), [{ command: 'echo 1', feature: 'c' }, { command: ['echo', '2'], feature: 'c' }]);
    assert.deepEqual(featureLifecycle(featured.contributions.lifecycle, 'post_start_command', 'before'), []);
    assert.deepEqual(featureLifecycle(featured.contributions.lifecycle, 'post_attach_command', 'before'), [{ command: 'echo attached', feature: 'd' }]);
    assert.deepEqual(featureLifecycle(featured.contributions.lifecycle, 'post_attach_command', 'after'), []);
    assert.deepEqual(featureLifecycle(undefined, 'post_start_command', 'before'), []);
  });

  it('the features\' lifecycle commands are read back from the features image\'s labels, in order; never from a base image\'s own metadata', () => {
    const metadata = JSON.stringify([
      { id: 'a', postAttachCommand: 'echo a' },
      { id: 'b', postAttachCommand: ['echo', 'b'], postStartCommand: 'echo s' },
      { id: 'c', postAttachCommand: 42 },
    ]);
    const lifecycle = lifecycleFromLabels({ [FEATURES_LABEL]: 'abc', [METADATA_LABEL]: metadata });
    assert.deepEqual(featureLifecycle(lifecycle, 'post_attach_command', 'before'), [{ command: 'echo a', feature: 'a' }, { command: ['echo', 'b'], feature: 'b' }]);
    assert.deepEqual(featureLifecycle(lifecycle, 'post_start_command', 'before'), [{ command: 'echo s', feature: 'b' }]);
    assert.equal(lifecycleFromLabels({ [METADATA_LABEL]: metadata }), undefined);
    assert.equal(lifecycleFromLabels({ [FEATURES_LABEL]: 'abc', [METADATA_LABEL]: '{not json' }), undefined);
    assert.equal(lifecycleFromLabels(undefined), undefined);
  });
});
