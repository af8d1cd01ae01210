import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { PLUGIN_API_VERSION } from '../../../src/plugin-api/index.ts';
import { builtinPlugins } from '../../../src/plugins/index.ts';
import { raySectionSchema } from '../../../src/plugins/ray/index.ts';
import { slackSectionSchema } from '../../../src/plugins/slack/index.ts';

describe('builtinPlugins', () => {
  it('ray, wandb, gpu-metrics and slack, each targeting the current plugin API', () => {
    assert.deepEqual(builtinPlugins.map((p) => p.name), ['ray', 'wandb', 'gpu-metrics', 'slack']);
    for (const plugin of builtinPlugins) {
      assert.equal(plugin.apiVersion, PLUGIN_API_VERSION, plugin.name);
      assert.match(plugin.version, /^\d+\.\d+\.\d+$/);
      assert.ok(plugin.config?.schema instanceof z.ZodType, `${plugin.name}: a zod schema reads like the core's`);
    }
  });

  it('section keys: ray, wandb, gpu_metrics, slack', () => {
    assert.deepEqual(builtinPlugins.map((p) => p.config?.key ?? p.name.replaceAll('-', '_')), ['ray', 'wandb', 'gpu_metrics', 'slack']);
  });

  it('the ray section accepts the core keys plus workers and rejects unknown keys', () => {
    assert.ok(raySectionSchema.safeParse({ enabled: true, port: 6379, dashboard_port: 8265, workers: [{ target: 'gpu2', num_gpus: 2 }] }).success);
    assert.ok(!raySectionSchema.safeParse({ enabled: true, dashbord_port: 1 }).success);
    assert.ok(!raySectionSchema.safeParse({ port: 70000 }).success);
  });

  it('the slack section knows its events', () => {
    assert.ok(slackSectionSchema.safeParse({ events: ['failure', 'sync_complete'] }).success);
    assert.ok(!slackSectionSchema.safeParse({ events: ['sync'] }).success);
  });
});
