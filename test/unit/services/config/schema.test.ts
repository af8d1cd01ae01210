import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { defaultsLayer } from '../../../../src/services/config/defaults.ts';
import { configJsonSchema, configSchema, createConfigSchema } from '../../../../src/services/config/schema.ts';

const SNAPSHOT = new URL('../../../fixtures/config-schema.snapshot.json', import.meta.url);

describe('config schema', () => {
  it('the JSON Schema matches the snapshot (MLT_UPDATE_SNAPSHOTS=1 to regenerate)', () => {
    const actual = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
    if (process.env.MLT_UPDATE_SNAPSHOTS === '1') writeFileSync(SNAPSHOT, actual);
    assert.ok(existsSync(SNAPSHOT), 'the schema snapshot is missing: MLT_UPDATE_SNAPSHOTS=1 regenerates it');
    assert.equal(actual, readFileSync(SNAPSHOT, 'utf8'), 'the config schema changed: review it, then run MLT_UPDATE_SNAPSHOTS=1 node --test test/unit/services/config/schema.test.ts');
  });

  it('the JSON Schema is strict and documented', () => {
    const json = configJsonSchema() as { additionalProperties: boolean; properties: Record<string, { description?: string }> };
    assert.equal(json.additionalProperties, false);
    for (const [key, property] of Object.entries(json.properties)) assert.ok(property.description, `${key} has a description`);
  });

  it('the built-in defaults are a valid config', () => {
    assert.equal(configSchema.safeParse(defaultsLayer('/work/proj').value).success, true);
  });

  it('accepts every documented form', () => {
    const config = {
      version: 1,
      project: { name: 'my-proj', workdir: '/workspace' },
      environment: {
        dockerfile: { path: 'docker/Dockerfile', context: '.', args: { PY: '3.12', N: 1 }, target: 'dev' },
        env: { A: 'x', N: 1, B: true }, env_file: ['.env'], profile: 'ml-research', volumes: ['/data:/data:ro'],
        ports: [8888, '6006:6006', '127.0.0.1:8265:8265/tcp'], gpu_count: 'all', gpus: 'required', network_mode: 'host',
        shm_size: '16g', user: '1000:1000', initialize_command: 'echo hi', on_create_command: ['pip', 'install', '-e', '.'],
        post_create_command: { deps: 'pip install -r requirements.txt', hooks: ['pre-commit', 'install'] },
        post_start_command: 'nvidia-smi', post_attach_command: 'echo attached',
      },
      sync: { exclude: ['data/'], include_overrides: ['data/small/'], respect_gitignore: false, strategy: 'rsync', watch: { enabled: true, debounce_ms: 500 } },
      remote: { host: 'gpu', user: 'me', port: 2222, identity_file: '~/.ssh/id_ed25519', ssh_config: '~/.ssh/config', connect_timeout: 20 },
      provision: { backend: 'lambda', instance_type: 'gpu_1x_a100', region: 'us-east-1', disk_gb: 200, idle_timeout_minutes: 60 },
      hooks: { pre_sync: 'make lint', post_sync: ['echo', 'done'], post_connect: 'echo up', pre_disconnect: 'echo bye' },
      plugins: ['ray', 'wandb'],
      profiles: { team: { pass_through: ['AWS_PROFILE'], env: { X: '1' } } },
    };
    const result = configSchema.safeParse(config);
    assert.equal(result.success, true, JSON.stringify(result.error?.issues));
  });

  it('rejects unknown keys at every level', () => {
    for (const bad of [{ extra: 1 }, { remote: { hots: 'x' } }, { sync: { watch: { enable: true } } }, { environment: { base_image: 'x', dockerfile: undefined, envs: {} } }]) {
      const result = configSchema.safeParse(bad);
      assert.equal(result.success, false, JSON.stringify(bad));
      assert.ok(result.error!.issues.some((i) => i.code === 'unrecognized_keys'));
    }
  });

  it('gpu_count is a number or "all"; gpus is optional/required/none', () => {
    const env = (e: object) => configSchema.safeParse({ environment: { base_image: 'x', ...e } }).success;
    assert.equal(env({ gpu_count: 2 }), true);
    assert.equal(env({ gpu_count: 'all' }), true);
    assert.equal(env({ gpu_count: 'some' }), false);
    assert.equal(env({ gpu_count: 1.5 }), false);
    assert.equal(env({ gpus: 'none' }), true);
    assert.equal(env({ gpus: 'maybe' }), false);
    assert.equal(env({ ports: ['8888:8888', 22] }), true);
    assert.equal(env({ ports: ['http'] }), false);
    assert.equal(env({ ports: [70000] }), false);
  });

  it('agent.install_dir is a host path without control characters (it reaches ssh_config and shell scripts)', () => {
    const parse = (dir: string) => configSchema.safeParse({ ...defaultsLayer('/work/proj').value, agent: { install_dir: dir } });
    assert.equal(parse('~/bin').success, true);
    assert.equal(parse('/opt/mlt tools').success, true);
    for (const bad of ['bin', '/opt/x\nHost *', '/opt/\tx', '/opt/x\u007f']) assert.equal(parse(bad).success, false, JSON.stringify(bad));
  });

  it('exactly one image source', () => {
    assert.equal(configSchema.safeParse({ environment: { base_image: 'x', devcontainer: 'y' } }).success, false);
    assert.equal(configSchema.safeParse({ environment: { gpus: 'none' } }).success, false);
    assert.equal(configSchema.safeParse({ environment: { devcontainer: '.devcontainer/devcontainer.json' } }).success, true);
  });

  it('plugins add sections to both the validation and the JSON Schema', () => {
    const schema = createConfigSchema({ wandb: z.strictObject({ entity: z.string() }).optional().describe('W&B plugin') });
    assert.equal(schema.safeParse({ wandb: { entity: 'me' } }).success, true);
    assert.equal(schema.safeParse({ wandb: { entty: 'me' } }).success, false);
    const json = configJsonSchema(schema) as { properties: Record<string, unknown> };
    assert.ok('wandb' in json.properties);
  });
});
