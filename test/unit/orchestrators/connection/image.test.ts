import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { ensureImage } from '../../../../src/orchestrators/connection/image.ts';
import type { ContainerPlan } from '../../../../src/orchestrators/connection/container-plan.ts';
import type { ContainerManager } from '../../../../src/services/containers/types.ts';

/** An engine without the image whose pull fails the way Docker's does offline. */
function engine(pull: 'fails' | 'works') {
  const pulled: string[] = [];
  const containers = {
    imageId: async () => undefined,
    pull: async (reference: string) => {
      pulled.push(reference);
      if (pull === 'fails') throw new UserError('IMAGE_NOT_FOUND', `could not pull ${reference} at /var/run/docker.sock: dial tcp: lookup registry-1.docker.io: no such host`, 'hint');
      return { imageId: 'sha256:p' };
    },
  } as unknown as ContainerManager;
  return { containers, pulled };
}

const plan = (isDefault: boolean) => ({ image: { kind: 'image', reference: 'pytorch/pytorch:2.5.1', ...(isDefault ? { isDefault: true } : {}) } }) as ContainerPlan;

describe('connect image step: the offline default', () => {
  const offline = { calls: 0 };
  const offlineDefaultImage = async () => (offline.calls++, { tag: 'mltoolbox/bootstrap:bookworm-abc', action: 'cached' as const });

  it('the default image that cannot be pulled is replaced by the offline default, with a warning', async () => {
    const reporter = createRecordingReporter();
    const { containers, pulled } = engine('fails');
    const result = await ensureImage({ env: {}, reporter, offlineDefaultImage }, containers, plan(true), false);
    assert.deepEqual(result, { image: 'mltoolbox/bootstrap:bookworm-abc', action: 'offline-default' });
    assert.deepEqual(pulled, ['pytorch/pytorch:2.5.1'], 'the registry is tried first');
    assert.ok(reporter.lines.some((l) => /default image pytorch\/pytorch:2\.5\.1 cannot be pulled .*no such host.*offline default/.test(l)), reporter.lines.join('\n'));
  });

  it('with a registry the default image is pulled as before', async () => {
    const { containers } = engine('works');
    const before = offline.calls;
    assert.deepEqual(await ensureImage({ env: {}, reporter: createRecordingReporter(), offlineDefaultImage }, containers, plan(true), false), { image: 'pytorch/pytorch:2.5.1', action: 'pulled' });
    assert.equal(offline.calls, before);
  });

  it('a configured image is never swapped: its pull failure is the error', async () => {
    const { containers } = engine('fails');
    await assert.rejects(ensureImage({ env: {}, reporter: createRecordingReporter(), offlineDefaultImage }, containers, plan(false), false), (e) => (e as UserError).code === 'IMAGE_NOT_FOUND');
    await assert.rejects(ensureImage({ env: { MLTOOLBOX_NO_PULL: '1' }, reporter: createRecordingReporter(), offlineDefaultImage }, containers, plan(false), false), /pulling is off/);
  });

  it('with MLTOOLBOX_NO_PULL the default goes straight to the offline image, no pull', async () => {
    const { containers, pulled } = engine('works');
    const result = await ensureImage({ env: { MLTOOLBOX_NO_PULL: '1' }, reporter: createRecordingReporter(), offlineDefaultImage }, containers, plan(true), false);
    assert.equal(result.action, 'offline-default');
    assert.deepEqual(pulled, []);
  });
});
