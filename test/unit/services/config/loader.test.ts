import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ConfigLayer } from '../../../../src/services/config/layer.ts';
import { loadConfig, type LoadConfigOptions } from '../../../../src/services/config/loader.ts';
import { flagLayer } from '../../../../src/services/config/env-layer.ts';
import { DEFAULT_BASE_IMAGE } from '../../../../src/services/config/defaults.ts';
import { tempTree, userError } from './helpers.ts';

/** A sandbox: project in root/p, user config in root/xdg/mltoolbox, system config root/etc/config.yaml. */
function sandbox(files: Record<string, string>) {
  const root = tempTree(files);
  const options = (extra: Partial<LoadConfigOptions> = {}): LoadConfigOptions => ({
    projectDir: join(root, 'p'),
    env: {},
    paths: { configDir: join(root, 'xdg', 'mltoolbox'), systemConfigFile: join(root, 'etc', 'config.yaml') },
    ...extra,
  });
  return { root, options };
}

describe('loadConfig: layering', () => {
  it('with no files at all, the defaults are a valid config named after the folder', async () => {
    const { options } = sandbox({ 'p/.keep': '' });
    const loaded = await loadConfig(options());
    assert.equal(loaded.config.project?.name, 'p');
    assert.equal(loaded.config.environment.base_image, DEFAULT_BASE_IMAGE);
    assert.deepEqual(loaded.config.environment.env, {});
    assert.equal(loaded.projectSource.kind, 'defaults');
    assert.deepEqual(loaded.origins.get('environment.base_image'), { kind: 'default' });
    assert.deepEqual(loaded.files.map((f) => [f.kind, f.found]), [['system', false], ['user', false], ['project', false], ['local', false]]);
  });

  it('precedence: default < system < user < project < local < env < flags, each with its origin', async () => {
    const { root, options } = sandbox({
      'etc/config.yaml': 'remote:\n  host: s\n  user: s\n  port: 1\n  identity_file: s\n  connect_timeout: 1\n  ssh_config: s\n',
      'xdg/mltoolbox/config.yaml': 'remote:\n  user: u\n  port: 2\n  identity_file: u\n  connect_timeout: 2\n  ssh_config: u\n',
      'p/mltoolbox.yaml': 'remote:\n  port: 3\n  identity_file: p\n  connect_timeout: 3\n  ssh_config: p\n',
      'p/mltoolbox.local.yaml': 'remote:\n  identity_file: l\n  connect_timeout: 4\n  ssh_config: l\n',
    });
    const loaded = await loadConfig(options({
      env: { MLTOOLBOX_REMOTE_CONNECT_TIMEOUT: '5', MLTOOLBOX_REMOTE_HOST: 'e' },
      flags: flagLayer([{ path: ['remote', 'ssh_config'], value: 'f', name: '--ssh-config' }]),
    }));
    assert.deepEqual(loaded.config.remote, { host: 'e', user: 'u', port: 3, identity_file: 'l', connect_timeout: 5, ssh_config: 'f' });
    const where = (key: string) => loaded.origins.get(key);
    assert.deepEqual(where('remote.host'), { kind: 'env', name: 'MLTOOLBOX_REMOTE_HOST' });
    assert.deepEqual(where('remote.user'), { kind: 'user', file: join(root, 'xdg/mltoolbox/config.yaml'), line: 2, column: 9 });
    assert.deepEqual(where('remote.port'), { kind: 'project', file: join(root, 'p/mltoolbox.yaml'), line: 2, column: 9 });
    assert.equal(where('remote.identity_file')?.kind, 'local');
    assert.deepEqual(where('remote.ssh_config'), { kind: 'flag', name: '--ssh-config' });
    assert.equal(where('sync.strategy')?.kind, 'default');
    const system = await loadConfig(options());
    assert.equal(system.config.remote?.host, 's');
    assert.equal(system.origins.get('remote.host')?.kind, 'system');
  });

  it('lists replace rather than append across layers', async () => {
    const { options } = sandbox({ 'xdg/mltoolbox/config.yaml': 'sync:\n  exclude: [data/]\n', 'p/mltoolbox.yaml': 'sync:\n  exclude: [ckpt/]\n' });
    const loaded = await loadConfig(options());
    assert.deepEqual(loaded.config.sync?.exclude, ['ckpt/']);
  });

  it('a project dockerfile replaces the default base_image', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  dockerfile:\n    path: Dockerfile\n    args: { PY: 3.12 }\n' });
    const loaded = await loadConfig(options());
    assert.equal(loaded.config.environment.base_image, undefined);
    assert.deepEqual(loaded.config.environment.dockerfile, { path: 'Dockerfile', args: { PY: 3.12 } });
  });

  it('without mltoolbox.yaml the project source seam supplies the layer', async () => {
    const { root, options } = sandbox({ 'p/.devcontainer/devcontainer.json': '{}' });
    const file = join(root, 'p/.devcontainer/devcontainer.json');
    const layer: ConfigLayer = { kind: 'devcontainer', file, value: { environment: { base_image: 'from-dc' } }, origins: new Map([['environment.base_image', { kind: 'devcontainer', file, line: 1, column: 2 }]]) };
    const loaded = await loadConfig(options({ projectSource: async () => ({ layer, description: 'using .devcontainer/devcontainer.json', warnings: ['dropped x'] }) }));
    assert.equal(loaded.config.environment.base_image, 'from-dc');
    assert.deepEqual(loaded.projectSource, { kind: 'devcontainer', file, description: 'using .devcontainer/devcontainer.json' });
    assert.deepEqual(loaded.warnings, ['dropped x']);
    assert.equal(loaded.origins.get('environment.base_image')?.line, 1);
    // A bare layer works too.
    const bare = await loadConfig(options({ projectSource: async () => layer }));
    assert.equal(bare.projectSource.kind, 'devcontainer');
  });

  it('mltoolbox.yaml wins over the seam, unless --devcontainer is explicit', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  base_image: from-yaml\n' });
    let called = 0;
    const layer: ConfigLayer = { kind: 'devcontainer', file: '/x/devcontainer.json', value: { environment: { base_image: 'from-dc' } }, origins: new Map() };
    const source = async () => { called++; return layer; };
    assert.equal((await loadConfig(options({ projectSource: source }))).config.environment.base_image, 'from-yaml');
    assert.equal(called, 0);
    assert.equal((await loadConfig(options({ projectSource: source, devcontainer: 'gpu' }))).config.environment.base_image, 'from-dc');
  });

  it('plugin sections are validated like built-in ones', async () => {
    const z = await import('zod');
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'slack:\n  channel: ml\n' });
    const pluginSections = { slack: z.strictObject({ channel: z.string() }) };
    const loaded = await loadConfig(options({ pluginSections }));
    assert.deepEqual((loaded.config as Record<string, unknown>).slack, { channel: 'ml' });
    await userError(loadConfig(options()), 'CONFIG_INVALID');
  });
});

describe('loadConfig: errors', () => {
  it('reports every problem at once, in file order, with file:line:column and snippets', async () => {
    const { root, options } = sandbox({
      'xdg/mltoolbox/config.yaml': 'remote:\n  prot: 22\n',
      'p/mltoolbox.yaml': 'enviroment:\n  base_image: x\nsync:\n  strategy: scp\n  watch:\n    enabled: maybe\nenvironment:\n  ports: [0]\n  gpu_count: -1\n  gpus: optinal\n',
    });
    const error = await userError(loadConfig(options({ env: { MLTOOLBOX_REMOTE_PORT: 'x' } })), 'CONFIG_INVALID');
    assert.equal(error.exitCode, 3);
    assert.match(error.message, /8 problems/);
    const heads = error.details.filter((d) => !/^\s+\d* \|/.test(d));
    assert.deepEqual(heads, [
      "mltoolbox.yaml:1:1: unknown key 'enviroment' at the top level (did you mean 'environment'?)",
      'mltoolbox.yaml:4:13: sync.strategy: expected one of "rsync", "rclone"; got "scp"',
      'mltoolbox.yaml:6:14: sync.watch.enabled: expected true or false, got "maybe"',
      'mltoolbox.yaml:8:11: environment.ports[0]: must be at least 1, got 0',
      'mltoolbox.yaml:9:14: environment.gpu_count: must be at least 0, got -1',
      'mltoolbox.yaml:10:9: environment.gpus: expected one of "optional", "required", "none"; got "optinal" (did you mean "optional"?)',
      `${join(root, 'xdg/mltoolbox/config.yaml')}:2:3: unknown key 'prot' in remote (did you mean 'port'?)`,
      'env MLTOOLBOX_REMOTE_PORT: remote.port: expected a number, got "x"',
    ]);
    assert.ok(error.details.includes('   4 |   strategy: scp'));
    assert.ok(error.details.includes('     |             ^'));
    const problems = error.data!.problems as { line?: number; file?: string; name?: string }[];
    assert.ok(problems.every((p) => p.line !== undefined || p.name !== undefined));
  });

  it('two image sources in one file is an error pointing at the second', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  base_image: a\n  devcontainer: .devcontainer/devcontainer.json\n' });
    const error = await userError(loadConfig(options()), 'CONFIG_INVALID');
    assert.match(error.details[0]!, /^mltoolbox\.yaml:3:17: environment\.devcontainer: set only one of base_image, dockerfile, devcontainer/);
  });

  it('environment.dockerfile: a path string is {path}; a mapping with a typo still gets "did you mean"', async () => {
    const short = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  dockerfile: docker/Dockerfile\n' });
    assert.deepEqual((await loadConfig(short.options())).config.environment.dockerfile, { path: 'docker/Dockerfile' });
    const typo = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  dockerfile:\n    pth: Dockerfile\n' });
    const error = await userError(loadConfig(typo.options()), 'CONFIG_INVALID');
    assert.ok(error.details.includes("mltoolbox.yaml:3:5: unknown key 'pth' in environment.dockerfile (did you mean 'path'?)"), error.details.join('\n'));
  });

  it('YAML syntax errors are CONFIG_UNREADABLE', async () => {
    const { options } = sandbox({ 'p/mltoolbox.local.yaml': 'a: b: c\n' });
    const error = await userError(loadConfig(options()), 'CONFIG_UNREADABLE');
    assert.match(error.details[0]!, /mltoolbox\.local\.yaml:1:4: /);
  });

  it('a config path that is a folder is CONFIG_UNREADABLE', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml/x': '' });
    await userError(loadConfig(options()), 'CONFIG_UNREADABLE');
  });

  it('INTERPOLATION_FAILED lists every failed ${…} with positions', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  env:\n    A: ${env:NOPE}\n    B: ${secret:missing}\n' });
    const error = await userError(loadConfig(options({ secrets: { get: async () => undefined } })), 'INTERPOLATION_FAILED');
    assert.equal(error.exitCode, 3);
    assert.match(error.details[0]!, /^mltoolbox\.yaml:3:8: environment\.env\.A: environment variable NOPE is not set/);
    assert.ok(error.details.some((d) => /^mltoolbox\.yaml:4:8: .*secret 'missing' is not set/.test(d)));
  });

  it('interpolation problems are listed with schema problems when both exist', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'remote:\n  hots: x\n  host: ${env:NOPE}\n' });
    const error = await userError(loadConfig(options()), 'CONFIG_INVALID');
    assert.equal(error.details.filter((d) => d.startsWith('mltoolbox.yaml')).length, 2);
  });

  it('PROFILE_UNKNOWN points at environment.profile and lists the known profiles', async () => {
    const { options } = sandbox({ 'xdg/mltoolbox/config.yaml': 'profiles:\n  team: {}\n', 'p/mltoolbox.yaml': 'environment:\n  profile: ml-reserch\n' });
    const error = await userError(loadConfig(options()), 'PROFILE_UNKNOWN');
    assert.equal(error.exitCode, 3);
    assert.match(error.details[0]!, /^mltoolbox\.yaml:2:12: .*no profile named 'ml-reserch' \(known: ml-research, team\)/);
  });

  it('ENV_FILE_UNREADABLE: a missing file points at env_file; a bad line points into the file', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  env_file: missing.env\n' });
    const missing = await userError(loadConfig(options()), 'ENV_FILE_UNREADABLE');
    assert.match(missing.details[0]!, /^mltoolbox\.yaml:2:13: environment\.env_file: cannot read .*missing\.env: no such file/);
    const bad = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  env_file: .env\n', 'p/.env': 'A=1\nHF_TOKEN="hf_secret_value\n' });
    const error = await userError(loadConfig(bad.options()), 'ENV_FILE_UNREADABLE');
    assert.match(error.details[0]!, /^\.env:2:\d+: /);
    // The position, never the line: env files hold tokens.
    assert.ok(!error.details.join('\n').includes('hf_secret_value'));
  });
});

describe('loadConfig: secrets only where they cannot leak', () => {
  it('a ${secret:…} outside environment.env is CONFIG_INVALID with its position, and the value is never printed', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  base_image: x\n  post_create_command: "login --token ${secret:hf}"\n' });
    const secrets = { get: async () => 'hf_resolved_value' };
    const error = await userError(loadConfig({ ...options(), secrets }), 'CONFIG_INVALID');
    assert.match(error.details[0]!, /^mltoolbox\.yaml:3:\d+: environment\.post_create_command: \$\{secret:hf\} is only allowed in environment\.env/);
    assert.ok(!JSON.stringify({ m: error.message, d: error.details, h: error.hint }).includes('hf_resolved_value'));
  });
});

describe('loadConfig: container variables', () => {
  it('profile < env_file < env, each value with its origin; values become strings', async () => {
    const { root, options } = sandbox({
      'p/mltoolbox.yaml': 'environment:\n  profile: ml-research\n  env_file: [.env, .env.extra]\n  env:\n    WANDB_PROJECT: from-yaml\n    WORKERS: 4\n    DEBUG: false\n',
      'p/.env': 'HF_HOME=/cache\nWANDB_ENTITY=from-file\n',
      'p/.env.extra': 'HF_HOME=/cache2\n',
    });
    const loaded = await loadConfig(options({ env: { WANDB_PROJECT: 'local', WANDB_ENTITY: 'local', HF_TOKEN: 'hf_x', UNRELATED: 'x' } }));
    assert.deepEqual(loaded.config.environment.env, {
      WANDB_PROJECT: 'from-yaml', WANDB_ENTITY: 'from-file', HF_TOKEN: 'hf_x', HF_HOME: '/cache2', WORKERS: '4', DEBUG: 'false',
    });
    assert.deepEqual(loaded.origins.get('environment.env.HF_TOKEN'), { kind: 'profile', name: 'ml-research ($HF_TOKEN)' });
    assert.deepEqual(loaded.origins.get('environment.env.HF_HOME'), { kind: 'env-file', file: join(root, 'p/.env.extra'), line: 1, column: 1 });
    assert.equal(loaded.origins.get('environment.env.WANDB_PROJECT')?.line, 5);
  });

  it('env_file is relative to the file that names it', async () => {
    const { options } = sandbox({ 'xdg/mltoolbox/config.yaml': 'environment:\n  env_file: user.env\n', 'xdg/mltoolbox/user.env': 'FROM_USER=1\n', 'p/.keep': '' });
    const loaded = await loadConfig(options());
    assert.equal(loaded.config.environment.env.FROM_USER, '1');
  });

  it('user-defined profiles: pass_through and fixed env, overriding a built-in name', async () => {
    const { options } = sandbox({
      'xdg/mltoolbox/config.yaml': 'profiles:\n  team:\n    pass_through: [AWS_PROFILE]\n    env:\n      TOKENIZERS_PARALLELISM: "false"\n',
      'p/mltoolbox.yaml': 'environment:\n  profile: team\n',
    });
    const loaded = await loadConfig(options({ env: { AWS_PROFILE: 'ml', HF_TOKEN: 'x' } }));
    assert.deepEqual(loaded.config.environment.env, { AWS_PROFILE: 'ml', TOKENIZERS_PARALLELISM: 'false' });
    assert.equal(loaded.origins.get('environment.env.TOKENIZERS_PARALLELISM')?.kind, 'user');
  });

  it('resolve mode fills secrets; redact mode shows <secret:name> and hides credential-like values', async () => {
    const { options } = sandbox({ 'p/mltoolbox.yaml': 'environment:\n  profile: ml-research\n  env:\n    WANDB_API_KEY: ${secret:wandb}\n    PLAIN_TOKEN: literal\n    NAME: ${env:USER_NAME}\n' });
    const env = { HF_TOKEN: 'hf_secret', USER_NAME: 'ann' };
    const secrets = { get: async (name: string) => (name === 'wandb' ? 'w-value' : undefined) };
    const resolved = await loadConfig(options({ env, secrets }));
    assert.deepEqual(resolved.config.environment.env, { HF_TOKEN: 'hf_secret', WANDB_API_KEY: 'w-value', PLAIN_TOKEN: 'literal', NAME: 'ann' });
    assert.deepEqual(resolved.secretRefs, [{ key: 'environment.env.WANDB_API_KEY', name: 'wandb' }]);
    const shown = await loadConfig(options({ env, secrets, mode: 'redact' }));
    assert.deepEqual(shown.config.environment.env, { HF_TOKEN: '<redacted>', WANDB_API_KEY: '<secret:wandb>', PLAIN_TOKEN: '<redacted>', NAME: 'ann' });
    assert.ok(!JSON.stringify(shown).includes('w-value'));
    assert.ok(!JSON.stringify(shown).includes('hf_secret'));
  });

  it('misspelt MLTOOLBOX_ variables become warnings', async () => {
    const { options } = sandbox({ 'p/.keep': '' });
    const loaded = await loadConfig(options({ env: { MLTOOLBOX_REMOTE_USR: 'x' } }));
    assert.deepEqual(loaded.warnings, ['MLTOOLBOX_REMOTE_USR is not a mltoolbox setting; did you mean MLTOOLBOX_REMOTE_USER?']);
  });
});
