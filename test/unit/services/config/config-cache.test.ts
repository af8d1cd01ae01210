import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { configCacheKey, createConfigCache, recordEnvReads, type ConfigCacheRequest } from '../../../../src/services/config/config-cache.ts';
import { flagLayer } from '../../../../src/services/config/env-layer.ts';
import { loadConfig } from '../../../../src/services/config/loader.ts';
import { tempTree } from './helpers.ts';

const HOUR_AGO = (Date.now() - 3_600_000) / 1000;

/** Every file's mtime an hour back: as a config written long before the command (a fresh one is never stored). */
function age(root: string): void {
  for (const name of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (name.isFile()) utimesSync(join(name.parentPath, name.name), HOUR_AGO, HOUR_AGO);
  }
}

function sandbox(files: Record<string, string>) {
  const root = tempTree(files);
  age(root);
  const request = (extra: Partial<ConfigCacheRequest> = {}): ConfigCacheRequest => ({
    projectDir: join(root, 'p'),
    mode: 'redact',
    env: {},
    paths: { configDir: join(root, 'xdg', 'mltoolbox'), systemConfigFile: join(root, 'etc', 'config.yaml') },
    ...extra,
  });
  const cacheDir = join(root, 'cache');
  /** What the config orchestrator does: a hit, else a load that is then offered to the cache. */
  const load = async (req: ConfigCacheRequest, buildId = 'v1:a') => {
    const cache = createConfigCache({ dir: cacheDir, buildId });
    const cached = cache.read(req);
    if (cached) return { hit: true, loaded: cached };
    const reads = new Set<string>();
    const startedAt = Date.now();
    const loaded = await loadConfig({ ...req, env: recordEnvReads(req.env, reads) });
    cache.write(req, loaded, reads, startedAt);
    return { hit: false, loaded };
  };
  /** Rewrites a file as a later edit would (then aged again, so only its content tells the change). */
  const edit = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    utimesSync(join(root, path), HOUR_AGO, HOUR_AGO);
  };
  return { root, request, load, edit, cacheDir };
}

const PROJECT = 'version: 1\nproject:\n  name: alpha\n';

describe('config cache', () => {
  it('a second identical load is a hit with the same config and origins', async () => {
    const { request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    const first = await load(request());
    const second = await load(request());
    assert.equal(first.hit, false);
    assert.equal(second.hit, true);
    assert.deepEqual(second.loaded.config, first.loaded.config);
    assert.deepEqual([...second.loaded.origins], [...first.loaded.origins]);
    assert.equal(second.loaded.origins.get('project.name')?.line, 3);
    assert.deepEqual(second.loaded.files, first.loaded.files);
  });

  it('an edited layer file misses, even with the same size and time', async () => {
    const { request, load, edit } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    await load(request());
    edit('p/mltoolbox.yaml', PROJECT.replace('alpha', 'gamma'));
    const after = await load(request());
    assert.equal(after.hit, false);
    assert.equal(after.loaded.config.project.name, 'gamma');
  });

  for (const [what, path] of [['a local file', 'p/mltoolbox.local.yaml'], ['a user config', 'xdg/mltoolbox/config.yaml'], ['a system config', 'etc/config.yaml']] as const) {
    it(`${what} that appears misses`, async () => {
      const { request, load, edit } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
      await load(request());
      edit(path, 'environment:\n  shm_size: 4g\n');
      const after = await load(request());
      assert.equal(after.hit, false);
      assert.equal(after.loaded.config.environment.shm_size, '4g');
    });
  }

  it('a removed layer file misses', async () => {
    const { root, request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT, 'p/mltoolbox.local.yaml': 'environment:\n  shm_size: 4g\n' });
    await load(request());
    const { rmSync } = await import('node:fs');
    rmSync(join(root, 'p', 'mltoolbox.local.yaml'));
    const after = await load(request());
    assert.equal(after.hit, false);
    assert.notEqual(after.loaded.config.environment.shm_size, '4g');
  });

  it('an MLTOOLBOX_* variable set, changed or removed misses', async () => {
    const { request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    await load(request({ env: { MLTOOLBOX_SHM_SIZE: '2g' } }));
    assert.equal((await load(request({ env: { MLTOOLBOX_SHM_SIZE: '2g' } }))).hit, true);
    const changed = await load(request({ env: { MLTOOLBOX_SHM_SIZE: '8g' } }));
    assert.equal(changed.hit, false);
    assert.equal(changed.loaded.config.environment.shm_size, '8g');
    assert.equal((await load(request({ env: {} }))).hit, false);
    // A misspelt one only warns, but the warning is part of the answer: it is in the key too.
    assert.equal((await load(request({ env: { MLTOOLBOX_SHM_SIZ: '1g' } }))).hit, false);
  });

  it('a variable the config reads through ${env:…} misses when it changes; others do not matter', async () => {
    const { request, load } = sandbox({ 'p/mltoolbox.yaml': `${PROJECT}remote:\n  host: \${env:GPU_HOST}\n` });
    const first = await load(request({ env: { GPU_HOST: 'a', UNRELATED: '1' } }));
    assert.equal(first.loaded.config.remote.host, 'a');
    assert.equal((await load(request({ env: { GPU_HOST: 'a', UNRELATED: '2' } }))).hit, true);
    const changed = await load(request({ env: { GPU_HOST: 'b' } }));
    assert.equal(changed.hit, false);
    assert.equal(changed.loaded.config.remote.host, 'b');
  });

  it('the entry keeps a hash of a read variable, never its value', async () => {
    const { request, load, cacheDir } = sandbox({ 'p/mltoolbox.yaml': `${PROJECT}remote:\n  host: \${env:GPU_HOST}\n` });
    await load(request({ env: { GPU_HOST: 'host-value-xyz' } }));
    const [entry] = readdirSync(cacheDir);
    const text = (await import('node:fs')).readFileSync(join(cacheDir, entry!), 'utf8');
    assert.ok(!JSON.stringify(JSON.parse(text).env).includes('host-value-xyz'));
    assert.equal(statSync(join(cacheDir, entry!)).mode & 0o777, 0o600);
  });

  it('a credential-looking MLTOOLBOX_ variable (the store passphrase) is no part of the key', () => {
    const { request } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    assert.equal(configCacheKey('v1', request({ env: { MLTOOLBOX_SECRET_PASSPHRASE: 'hunter2' } })), configCacheKey('v1', request()));
    assert.notEqual(configCacheKey('v1', request({ env: { MLTOOLBOX_REMOTE_HOST: 'a' } })), configCacheKey('v1', request()));
  });

  it('a file touched but not changed still hits; a same-size rewrite with the old mtime misses (ctime)', async () => {
    const { root, request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    await load(request());
    const file = join(root, 'p', 'mltoolbox.yaml');
    utimesSync(file, HOUR_AGO + 60, HOUR_AGO + 60);
    assert.equal((await load(request())).hit, true);
    const before = statSync(file);
    writeFileSync(file, PROJECT.replace('alpha', 'omega'));
    utimesSync(file, before.atime, before.mtime);
    const after = await load(request());
    assert.equal(after.hit, false);
    assert.equal(after.loaded.config.project.name, 'omega');
  });

  it('a different flag layer or --devcontainer misses', async () => {
    const { request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    const flags = (host: string) => flagLayer([{ path: ['remote', 'host'], value: host, name: '--host' }]);
    await load(request({ flags: flags('a') }));
    assert.equal((await load(request({ flags: flags('a') }))).hit, true);
    const other = await load(request({ flags: flags('b') }));
    assert.equal(other.hit, false);
    assert.equal(other.loaded.config.remote.host, 'b');
    assert.equal((await load(request())).hit, false);
    assert.notEqual(configCacheKey('v1', request({ devcontainer: 'gpu' })), configCacheKey('v1', request()));
  });

  it('another mltoolbox build (version or bundle) misses', async () => {
    const { request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    await load(request(), 'v1:a');
    assert.equal((await load(request(), 'v1:a')).hit, true);
    assert.equal((await load(request(), 'v1:b')).hit, false);
    assert.equal((await load(request(), 'v2:a')).hit, false);
  });

  it('enabled plugins, resolved secrets, env_file, detection and devcontainer references are never stored', async () => {
    const cases: Array<[string, Record<string, string>, Partial<ConfigCacheRequest>]> = [
      ['plugins', { 'p/mltoolbox.yaml': `${PROJECT}plugins:\n  - wandb\n` }, {}],
      ['resolve mode', { 'p/mltoolbox.yaml': PROJECT }, { mode: 'resolve' }],
      ['env_file', { 'p/mltoolbox.yaml': `${PROJECT}environment:\n  env_file: .env\n`, 'p/.env': 'A=1\n' }, {}],
      ['no mltoolbox.yaml', { 'p/.keep': '' }, {}],
    ];
    for (const [what, files, extra] of cases) {
      const { request, load, cacheDir } = sandbox(files);
      const first = await load(request(extra));
      assert.equal(first.hit, false, what);
      assert.equal((await load(request(extra))).hit, false, what);
      assert.deepEqual(existsSync(cacheDir) ? readdirSync(cacheDir) : [], [], what);
    }
  });

  it('a file written just before the load is not stored (its content may be mid-write)', async () => {
    const { root, request, load } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    writeFileSync(join(root, 'p', 'mltoolbox.yaml'), PROJECT); // mtime: now
    await load(request());
    assert.equal((await load(request())).hit, false);
  });

  it('a corrupt or foreign entry is a miss, not an error', async () => {
    const { request, load, cacheDir } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    await load(request());
    const [entry] = readdirSync(cacheDir);
    for (const text of ['{not json', '{"format":1,"key":"other","files":[],"env":[]}', 'null']) {
      writeFileSync(join(cacheDir, entry!), text);
      const again = await load(request());
      assert.equal(again.hit, false, text);
      assert.equal(again.loaded.config.project.name, 'alpha');
    }
  });
});

describe('config cache: credentials and damage', () => {
  it('a credential-looking variable whose value lands in the configuration (not redacted) is never written to the cache', async () => {
    const { request, load, cacheDir } = sandbox({ 'p/mltoolbox.yaml': `${PROJECT}environment:\n  env:\n    HUB: \${env:HF_TOKEN}\n` });
    const env = { HF_TOKEN: 'hf_value_7c1e9a0d' };
    const first = await load(request({ env }));
    assert.equal(first.loaded.config.environment.env.HUB, 'hf_value_7c1e9a0d', 'config show prints it: the user asked for it there');
    const written = existsSync(cacheDir) ? readdirSync(cacheDir).map((name) => readFileSync(join(cacheDir, name), 'utf8')).join('\n') : '';
    assert.ok(!written.includes('hf_value_7c1e9a0d'), 'not in the cache file');
    assert.equal((await load(request({ env }))).hit, false);
  });

  it('of a redacted credential (a profile pass-through) the entry keeps only whether it is set', async () => {
    const { request, load, cacheDir } = sandbox({ 'p/mltoolbox.yaml': `${PROJECT}environment:\n  profile: ml-research\n` });
    const first = await load(request({ env: { OPENAI_API_KEY: 'sk-one-1234' } }));
    assert.equal(first.loaded.config.environment.env.OPENAI_API_KEY, '<redacted>');
    const [entry] = readdirSync(cacheDir);
    const stored = JSON.parse(readFileSync(join(cacheDir, entry!), 'utf8')) as { env: { name: string; hash: string | null }[] };
    assert.deepEqual(stored.env.find((v) => v.name === 'OPENAI_API_KEY'), { name: 'OPENAI_API_KEY', hash: 'set' });
    // Another key prints the same: a hit. Unset, it is gone from the container's variables: a miss.
    assert.equal((await load(request({ env: { OPENAI_API_KEY: 'sk-two-5678' } }))).hit, true);
    const unset = await load(request({ env: {} }));
    assert.equal(unset.hit, false);
    assert.equal(unset.loaded.config.environment.env.OPENAI_API_KEY, undefined);
  });

  it('an entry with the right key but a damaged body is a miss, never an error', async () => {
    const { request, load, cacheDir } = sandbox({ 'p/mltoolbox.yaml': PROJECT });
    await load(request());
    const [name] = readdirSync(cacheDir);
    const good = JSON.parse(readFileSync(join(cacheDir, name!), 'utf8')) as Record<string, unknown>;
    const damaged: Record<string, unknown>[] = [
      { ...good, files: [null] },
      { ...good, files: [{ file: 42, hash: null }] },
      { ...good, env: [null] },
      { ...good, loaded: null },
      { ...good, loaded: { ...(good.loaded as object), origins: 7 } },
      { ...good, files: [{ file: join(cacheDir, 'x'), hash: 'h', stat: 'nope' }] },
    ];
    for (const body of damaged) {
      writeFileSync(join(cacheDir, name!), JSON.stringify(body));
      const again = await load(request());
      assert.equal(again.hit, false, JSON.stringify(body).slice(0, 80));
      assert.equal(again.loaded.config.project.name, 'alpha');
    }
  });
});
