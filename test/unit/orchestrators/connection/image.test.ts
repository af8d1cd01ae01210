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

describe('connect image step: environment.image_transfer', () => {
  /** This machine's engine: has the image or not; records what it was asked to send. */
  const local = (has: boolean) => {
    const sent: string[] = [];
    return { sent, sendFromLocal: async (reference: string) => (sent.push(reference), has ? { bytesSent: 1 } : undefined) };
  };
  const step = (transfer: 'auto' | 'always' | 'never', pull: 'fails' | 'works', has = true) => {
    const host = engine(pull);
    const here = local(has);
    const result = ensureImage({ env: {}, reporter: createRecordingReporter(), transfer, sendFromLocal: here.sendFromLocal }, host.containers, plan(false), false);
    return { result, pulled: host.pulled, sent: here.sent };
  };

  it('auto: the host pulls when it can; only when that fails (air gap, rate limit, private image) is the image sent', async () => {
    const pulls = step('auto', 'works');
    assert.deepEqual(await pulls.result, { image: 'pytorch/pytorch:2.5.1', action: 'pulled' });
    assert.deepEqual(pulls.sent, []);
    const fails = step('auto', 'fails');
    assert.deepEqual(await fails.result, { image: 'pytorch/pytorch:2.5.1', action: 'sent' });
    assert.deepEqual([fails.pulled, fails.sent], [['pytorch/pytorch:2.5.1'], ['pytorch/pytorch:2.5.1']]);
    // Neither place has it: the pull's own error stands.
    await assert.rejects(step('auto', 'fails', false).result, (e) => (e as UserError).code === 'IMAGE_NOT_FOUND' && /no such host/.test((e as UserError).message));
  });

  it('always: this machine\'s copy wins over the registry (no pull); without one here, the host pulls', async () => {
    const sends = step('always', 'works');
    assert.deepEqual(await sends.result, { image: 'pytorch/pytorch:2.5.1', action: 'sent' });
    assert.deepEqual(sends.pulled, [], 'not pulled');
    const lacks = step('always', 'works', false);
    assert.deepEqual(await lacks.result, { image: 'pytorch/pytorch:2.5.1', action: 'pulled' });
  });

  it('never: only pulled; a host that cannot pull fails with IMAGE_NOT_FOUND and nothing is sent', async () => {
    const never = step('never', 'fails');
    await assert.rejects(never.result, (e) => (e as UserError).code === 'IMAGE_NOT_FOUND');
    assert.deepEqual(never.sent, []);
  });
});
