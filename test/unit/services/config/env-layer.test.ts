import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENV_VAR_KEYS, envLayer, flagLayer, TOOL_ENV_VARS } from '../../../../src/services/config/env-layer.ts';
import { allowedKeysAt } from '../../../../src/services/config/validate.ts';
import { configSchema } from '../../../../src/services/config/schema.ts';

describe('envLayer', () => {
  it('maps each variable in the table to its key, with the variable as origin', () => {
    const { layer, warnings } = envLayer({
      MLTOOLBOX_REMOTE_HOST: 'gpu', MLTOOLBOX_REMOTE_PORT: '2222', MLTOOLBOX_GPU_COUNT: 'all', MLTOOLBOX_SYNC_WATCH: 'yes',
      MLTOOLBOX_PLUGINS: 'ray, wandb', MLTOOLBOX_REMOTE_CONNECT_TIMEOUT: '30', PATH: '/bin',
    });
    assert.deepEqual(layer.value, {
      environment: { gpu_count: 'all' },
      plugins: ['ray', 'wandb'],
      remote: { host: 'gpu', port: 2222, connect_timeout: 30 },
      sync: { watch: { enabled: true } },
    });
    assert.deepEqual(layer.origins.get('remote.host'), { kind: 'env', name: 'MLTOOLBOX_REMOTE_HOST' });
    assert.deepEqual(layer.origins.get('plugins[1]'), { kind: 'env', name: 'MLTOOLBOX_PLUGINS' });
    assert.deepEqual(warnings, []);
  });

  it('numbers parse; a non-number stays a string so validation names the variable', () => {
    assert.deepEqual(envLayer({ MLTOOLBOX_GPU_COUNT: '2' }).layer.value, { environment: { gpu_count: 2 } });
    assert.deepEqual(envLayer({ MLTOOLBOX_REMOTE_PORT: 'abc' }).layer.value, { remote: { port: 'abc' } });
    assert.deepEqual(envLayer({ MLTOOLBOX_SYNC_WATCH: 'off' }).layer.value, { sync: { watch: { enabled: false } } });
  });

  it('empty variables are ignored', () => {
    assert.deepEqual(envLayer({ MLTOOLBOX_REMOTE_HOST: '' }).layer.value, {});
  });

  it('tool settings (MLTOOLBOX_SSH_CONFIG, ...) are not config keys and not typos', () => {
    const env = Object.fromEntries(TOOL_ENV_VARS.map((name) => [name, '/x']));
    const { layer, warnings } = envLayer(env);
    assert.deepEqual(layer.value, {});
    assert.deepEqual(warnings, []);
  });

  it('a misspelt variable gets a warning with a suggestion', () => {
    const { warnings } = envLayer({ MLTOOLBOX_REMOTE_HOTS: 'gpu' });
    assert.deepEqual(warnings, ['MLTOOLBOX_REMOTE_HOTS is not a mltoolbox setting; did you mean MLTOOLBOX_REMOTE_HOST?']);
  });

  it('every variable in the table names a real schema key', () => {
    for (const [name, { path }] of Object.entries(ENV_VAR_KEYS)) {
      assert.ok(allowedKeysAt(configSchema, path.slice(0, -1)).includes(path.at(-1)!), `${name} -> ${path.join('.')}`);
    }
  });
});

describe('flagLayer', () => {
  it('builds a layer with the flag as origin and skips undefined values', () => {
    const layer = flagLayer([{ path: ['remote', 'host'], value: 'h', name: '--host' }, { path: ['remote', 'user'], value: undefined, name: '--user' }]);
    assert.deepEqual(layer.value, { remote: { host: 'h' } });
    assert.deepEqual(layer.origins.get('remote.host'), { kind: 'flag', name: '--host' });
  });
});
