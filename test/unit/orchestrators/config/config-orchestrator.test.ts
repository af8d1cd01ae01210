import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { createConfigOrchestrator, flatten, parseKey } from '../../../../src/orchestrators/config/config-orchestrator.ts';
import { tempTree, userError } from '../../services/config/helpers.ts';

function orchestrator(files: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const root = tempTree({ 'p/.keep': '', ...files });
  const reporter = createRecordingReporter();
  let opened = 0;
  const config = createConfigOrchestrator({
    projectDir: join(root, 'p'),
    env,
    paths: { configDir: join(root, 'home/.config/mltoolbox'), systemConfigFile: join(root, 'etc/config.yaml'), homeDir: join(root, 'home') },
    reporter,
    secrets: async () => { opened++; return { get: async () => 'the-secret' }; },
  });
  return { config, reporter, root, opened: () => opened };
}

describe('config orchestrator', () => {
  it('parseKey and flatten', () => {
    assert.deepEqual(parseKey('environment.ports[0]'), ['environment', 'ports', 0]);
    assert.deepEqual(flatten({ a: { b: [1, { c: 2 }], e: [] , f: {} } }).map((e) => [e.path.join('/'), e.value]), [['a/b/0', 1], ['a/b/1/c', 2], ['a/e', []], ['a/f', {}]]);
  });

  it('show: every leaf with its origin; home paths shortened; secrets redacted and the store never opened', async () => {
    const { config, opened } = orchestrator({
      'home/.config/mltoolbox/config.yaml': 'remote:\n  user: alice\n',
      'p/mltoolbox.yaml': 'environment:\n  env:\n    WANDB_API_KEY: ${secret:wandb}\n',
    }, { MLTOOLBOX_REMOTE_HOST: 'gpu' });
    const shown = await config.show();
    const byKey = Object.fromEntries(shown.entries.map((e) => [e.key, e]));
    assert.equal(byKey['remote.user']!.origin.where, '~/.config/mltoolbox/config.yaml:2:9');
    assert.equal(byKey['remote.host']!.origin.where, 'env MLTOOLBOX_REMOTE_HOST');
    assert.equal(byKey['environment.env.WANDB_API_KEY']!.value, '<secret:wandb>');
    assert.equal(byKey['environment.env.WANDB_API_KEY']!.origin.where, 'mltoolbox.yaml:3:20');
    assert.equal(byKey['sync.strategy']!.origin.where, 'default');
    assert.equal(opened(), 0);
  });

  it('show KEY: a section, a leaf, an unset known key, an unknown key', async () => {
    const { config } = orchestrator({ 'p/mltoolbox.yaml': 'remote:\n  host: gpu\n' });
    const section = await config.show({ key: 'remote' });
    assert.deepEqual(section.entries.map((e) => e.key), ['remote.host', 'remote.connect_timeout']);
    assert.deepEqual(section.config, { host: 'gpu', connect_timeout: 10 });
    assert.equal((await config.show({ key: 'remote.host' })).config, 'gpu');
    const unset = await config.show({ key: 'remote.user' });
    assert.deepEqual(unset.entries, []);
    assert.equal(unset.config, null);
    assert.deepEqual((await config.show({ key: 'environment.env.NOPE' })).entries, []);
    const error = await userError(config.show({ key: 'remote.hots' }), 'CONFIG_KEY_UNKNOWN');
    assert.match(error.hint, /did you mean 'remote.host'/);
  });

  it('validate: names the files and env vars used; warnings go to the reporter', async () => {
    const { config, reporter } = orchestrator({ 'p/mltoolbox.yaml': 'version: 1\n' }, { MLTOOLBOX_REMOTE_HOST: 'gpu', MLTOOLBOX_REMOTE_HSOT: 'x' });
    const result = await config.validate();
    assert.equal(result.projectSource.kind, 'mltoolbox.yaml');
    assert.deepEqual(result.files.filter((f) => f.found).map((f) => f.kind), ['project']);
    assert.deepEqual(result.envVars, ['MLTOOLBOX_REMOTE_HOST']);
    assert.ok(reporter.lines.some((l) => l.startsWith('warn: MLTOOLBOX_REMOTE_HSOT')));
  });

  it('load resolves secrets through the lazily opened store', async () => {
    const { config, opened } = orchestrator({ 'p/mltoolbox.yaml': 'environment:\n  env:\n    T: ${secret:t}\n' });
    const loaded = await config.load();
    assert.equal(loaded.config.environment.env.T, 'the-secret');
    assert.equal(opened(), 1);
  });

  it('schema returns the JSON Schema', async () => {
    const { config } = orchestrator({});
    assert.equal(((await config.schema()) as { title: string }).title, 'mltoolbox.yaml');
  });
});
