import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { definePlugin, HOOK_KINDS, PLUGIN_API_VERSION, pluginError, type HookName, type HookPayloads } from '../../../src/plugin-api/index.ts';

describe('plugin API', () => {
  it('is versioned MAJOR.MINOR', () => {
    assert.match(PLUGIN_API_VERSION, /^\d+\.\d+$/);
  });

  it('declares a kind for every hook', () => {
    const hooks: Record<HookName, true> = {
      configLoaded: true, beforeSync: true, afterSync: true, afterFetch: true, containerStart: true, containerStop: true,
      provisionComplete: true, connectComplete: true, shutdown: true, resolveHost: true, notify: true, workerTargets: true,
    };
    assert.deepEqual(Object.keys(HOOK_KINDS).sort(), Object.keys(hooks).sort());
    for (const kind of Object.values(HOOK_KINDS)) assert.ok(['sequential', 'parallel', 'first', 'reduce', 'collect'].includes(kind));
  });

  it('definePlugin returns the object and infers the section type from a zod schema', () => {
    const schema = z.strictObject({ project: z.string() });
    const plugin = definePlugin({
      name: 'demo',
      version: '1.0.0',
      apiVersion: PLUGIN_API_VERSION,
      config: { schema },
      hooks: {
        afterSync: (payload: HookPayloads['afterSync'], context) => {
          const project: string | undefined = context.config.section?.project;
          void project;
          void payload.result.filesTransferred;
        },
      },
    });
    assert.equal(plugin.name, 'demo');
    assert.equal(typeof plugin.hooks?.afterSync, 'function');
  });

  it('pluginError carries a hint', () => {
    const error = pluginError('no API key', 'mltoolbox secret set WANDB_API_KEY');
    assert.equal(error.message, 'no API key');
    assert.equal(error.hint, 'mltoolbox secret set WANDB_API_KEY');
  });
});
