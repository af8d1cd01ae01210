import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolvePluginSecretRefs } from '../../../../src/orchestrators/connection/plugin-secrets.ts';
import type { LoadedConfig } from '../../../../src/services/config/loader.ts';

const loaded = (env: Record<string, string>) =>
  ({ config: { environment: { env } }, secretRefs: [{ key: 'environment.env.HF_TOKEN', name: 'hf' }] }) as unknown as LoadedConfig;

describe('resolvePluginSecretRefs', () => {
  it('resolves references a plugin added and records them as secret env', async () => {
    const result = await resolvePluginSecretRefs(loaded({ HF_TOKEN: 'already-resolved', WANDB_API_KEY: '${secret:wandb_api_key}', PLAIN: 'x' }),
      async (name) => (name === 'wandb_api_key' ? 'k-123' : undefined));
    assert.equal(result.config.environment.env.WANDB_API_KEY, 'k-123');
    assert.equal(result.config.environment.env.PLAIN, 'x');
    assert.deepEqual(result.secretRefs.map((r) => r.key), ['environment.env.HF_TOKEN', 'environment.env.WANDB_API_KEY']);
  });
  it('a missing secret is SECRET_NOT_FOUND naming the variable and the command to run', async () => {
    await assert.rejects(resolvePluginSecretRefs(loaded({ WANDB_API_KEY: '${secret:wandb_api_key}' }), async () => undefined),
      (error: Error & { code?: string; hint?: string }) => error.code === 'SECRET_NOT_FOUND' && /WANDB_API_KEY/.test(error.message) && /secret set wandb_api_key/.test(error.hint ?? ''));
  });
  it('leaves a config without references untouched', async () => {
    const input = loaded({ A: 'b' });
    assert.equal(await resolvePluginSecretRefs(input, async () => 'never'), input);
  });
});
