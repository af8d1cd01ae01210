import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDockerManager } from '../../../../src/services/containers/docker-manager.ts';
import { createFakeEngine } from './fake-engine.ts';

describe('pull', () => {
  it('pulls an image with progress lines, then finds it', async () => {
    const engine = createFakeEngine();
    const manager = createDockerManager({ client: engine.client, toolVersion: 't', endpoint: { socketPath: '/x', remote: false, where: 'at /x' } });
    const lines: string[] = [];
    const { imageId } = await manager.pull('busybox:latest', (line) => lines.push(line));
    assert.equal(imageId, 'sha256:pulled');
    assert.ok(lines.some((l) => l.includes('Download complete')));
  });
  it('a failed pull is IMAGE_NOT_FOUND with the registry reason and a hint', async () => {
    const manager = createDockerManager({ client: createFakeEngine().client, toolVersion: 't', endpoint: { socketPath: '/x', remote: true, where: 'on gpu-box' } });
    await assert.rejects(manager.pull('missing/image:1'), (error: Error & { code?: string; hint?: string }) =>
      error.code === 'IMAGE_NOT_FOUND' && /pull access denied/.test(error.message) && /on gpu-box/.test(error.message) && /docker login/.test(error.hint ?? ''));
  });
});
