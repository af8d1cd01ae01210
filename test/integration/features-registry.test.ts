import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UserError } from '../../src/core/errors.ts';
import { runProcess } from '../../src/infrastructure/process.ts';
import { registryCredentials } from '../../src/services/features/credentials.ts';
import { createFeaturesService } from '../../src/services/features/index.ts';
import { packFeature, startTestRegistry, type TestRegistry } from '../harness/index.ts';

const quiet = { task: <T>(_: string, work: (t: { update(): void }) => Promise<T>) => work({ update() {} }), info() {}, warn() {}, debug() {} } as never;

/**
 * The feature fetcher in-process against the test registry on 127.0.0.1:
 * the token flow with credentials from a docker config or a credential
 * helper, tags and digests, the lockfile's pin, and what goes wrong.
 */
describe('features: fetching from a registry', () => {
  let registry: TestRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let digest: string;

  const feature = async (name: string, metadata: object, install = '#!/bin/sh\ntrue\n') => {
    const folder = join(dir, 'src', name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'devcontainer-feature.json'), JSON.stringify(metadata));
    await writeFile(join(folder, 'install.sh'), install, { mode: 0o755 });
    return folder;
  };
  const service = (extraEnv: NodeJS.ProcessEnv = {}) => createFeaturesService({ env: { ...env, ...extraEnv }, homeDir: join(dir, 'home'), cacheDir: join(dir, 'cache', String(Math.random())), runProcess, reporter: quiet });
  const rejectsWith = async (promise: Promise<unknown>, code: string, message?: RegExp) => {
    await assert.rejects(promise, (error: UserError) => {
      assert.equal(error.code, code, error.message);
      if (message) assert.match(error.message, message);
      assert.ok(error.hint.length > 0);
      return true;
    });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlt-features-registry-'));
    registry = await startTestRegistry({ auth: { username: 'ci', password: 'pw' } });
    ({ manifestDigest: digest } = await registry.pushFeature('acme/features/hello', await feature('hello', { id: 'hello', version: '1.0.1', options: { who: { type: 'string', default: 'world' } } }), ['1', '1.0', '1.0.1', 'latest']));
    await registry.pushFeature('acme/features/loop-a', await feature('loop-a', { id: 'loop-a', dependsOn: { [`${registry.host}/acme/features/loop-b:1`]: {} } }), ['1']);
    await registry.pushFeature('acme/features/loop-b', await feature('loop-b', { id: 'loop-b', dependsOn: { [`${registry.host}/acme/features/loop-a:1`]: {} } }), ['1']);
    await mkdir(join(dir, 'docker'), { recursive: true });
    await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from('ci:pw').toString('base64') } } }));
    env = { PATH: process.env.PATH, DOCKER_CONFIG: join(dir, 'docker') };
  });

  after(async () => {
    await registry?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a major-version tag resolves through the token flow with docker config credentials; the lock pins the digest', async () => {
    const result = await service().resolve({ features: { [`${registry.host}/acme/features/hello:1`]: { who: 'ci' } }, baseDir: dir });
    assert.equal(result.features.length, 1);
    assert.equal(result.features[0]!.metadata.version, '1.0.1');
    assert.deepEqual(result.features[0]!.options.env, { WHO: 'ci' });
    assert.deepEqual(result.lockfile.features[`${registry.host}/acme/features/hello:1`], { version: '1.0.1', resolved: `${registry.host}/acme/features/hello@${digest}`, integrity: digest });
    assert.ok(registry.requests.includes('GET /token'));
  });

  it('a digest reference, and a pinned lockfile with a warm cache, fetch what was pinned', async () => {
    const features = service();
    const id = `${registry.host}/acme/features/hello@${digest}`;
    assert.equal((await features.resolve({ features: { [id]: {} }, baseDir: dir })).features[0]!.digest, digest);
    const lock = join(dir, 'devcontainer-lock.json');
    const first = await features.resolve({ features: { [`${registry.host}/acme/features/hello`]: {} }, baseDir: dir });
    await features.writeLockfile(lock, first.lockfile);
    const seen = registry.requests.length;
    await features.resolve({ features: { [`${registry.host}/acme/features/hello`]: {} }, baseDir: dir, lockfile: lock });
    assert.equal(registry.requests.length, seen, 'nothing fetched');
  });

  it('a pinned digest the registry no longer has is not found; a tarball that changed since the lock is refused', async () => {
    const lock = join(dir, 'tampered-lock.json');
    const other = `sha256:${'e'.repeat(64)}`;
    const url = registry.fileUrl('devcontainer-feature-changed.tgz');
    registry.serveFile('devcontainer-feature-changed.tgz', await packFeature(join(dir, 'src', 'hello'), { gzip: true }));
    await writeFile(lock, JSON.stringify({ features: {
      [`${registry.host}/acme/features/hello:1`]: { version: '1.0.1', resolved: `${registry.host}/acme/features/hello@${other}`, integrity: other },
      [url]: { version: '1.0.1', resolved: url, integrity: other },
    } }));
    await rejectsWith(service().resolve({ features: { [`${registry.host}/acme/features/hello:1`]: {} }, baseDir: dir, lockfile: lock }), 'FEATURE_NOT_FOUND', /was not found/);
    await rejectsWith(service().resolve({ features: { [url]: {} }, baseDir: dir, lockfile: lock }), 'FEATURE_LOCK_MISMATCH', /changed since devcontainer-lock\.json pinned it/);
  });

  it('wrong or missing credentials: FEATURE_AUTH_FAILED naming the registry; a credential helper is asked first', async () => {
    await rejectsWith(service({ DOCKER_CONFIG: join(dir, 'nowhere') }).resolve({ features: { [`${registry.host}/acme/features/hello:1`]: {} }, baseDir: dir }),
      'FEATURE_AUTH_FAILED', new RegExp(`from registry ${registry.host.replace(/\./g, '\\.')}: .*no credentials were found`));
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'docker-credential-fake'), '#!/bin/sh\nread server\necho "{\\"Username\\":\\"ci\\",\\"Secret\\":\\"wrong\\"}"\n', { mode: 0o755 });
    await chmod(join(bin, 'docker-credential-fake'), 0o755);
    await mkdir(join(dir, 'helper'), { recursive: true });
    await writeFile(join(dir, 'helper', 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'fake' }, auths: { [registry.host]: { auth: Buffer.from('ci:pw').toString('base64') } } }));
    await rejectsWith(service({ DOCKER_CONFIG: join(dir, 'helper'), PATH: `${bin}:${process.env.PATH}` }).resolve({ features: { [`${registry.host}/acme/features/hello:1`]: {} }, baseDir: dir }),
      'FEATURE_AUTH_FAILED', /refused the login from docker credential helper 'fake'/);
  });

  it('an unknown tag is FEATURE_NOT_FOUND; a dependsOn loop is FEATURE_ORDER_INVALID naming it', async () => {
    await rejectsWith(service().resolve({ features: { [`${registry.host}/acme/features/hello:9`]: {} }, baseDir: dir }), 'FEATURE_NOT_FOUND', /hello:9/);
    await rejectsWith(service().resolve({ features: { [`${registry.host}/acme/features/loop-a:1`]: {} }, baseDir: dir }), 'FEATURE_ORDER_INVALID', /loop-a.*loop-b.*loop-a/);
  });

  it('tarballs: fetched over http from loopback, integrity in the lock; an archive escaping its folder is refused', async () => {
    registry.serveFile('devcontainer-feature-hello.tgz', await packFeature(join(dir, 'src', 'hello'), { gzip: true }));
    const url = registry.fileUrl('devcontainer-feature-hello.tgz');
    const result = await service().resolve({ features: { [url]: {} }, baseDir: dir });
    assert.match(result.lockfile.features[url]!.integrity, /^sha256:[a-f0-9]{64}$/);
    assert.equal(result.lockfile.features[url]!.resolved, url);

    const evil = join(dir, 'evil');
    await mkdir(join(evil, 'sub'), { recursive: true });
    await writeFile(join(evil, 'devcontainer-feature.json'), '{"id":"evil"}');
    const tar = await packFeature(evil);
    // Rewrite the folder entry's name to climb out (same length, checksum fixed below).
    const name = Buffer.from('./sub/'.padEnd(6, '\0'));
    const at = tar.indexOf(name);
    tar.write('../x/\0', at);
    let sum = 0;
    tar.fill(' ', at + 148, at + 156);
    for (let i = 0; i < 512; i++) sum += tar[at + i]!;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148);
    registry.serveFile('devcontainer-feature-evil.tgz', tar);
    await rejectsWith(service().resolve({ features: { [registry.fileUrl('devcontainer-feature-evil.tgz')]: {} }, baseDir: dir }), 'FEATURE_INVALID', /outside its folder/);
    assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n === 'x')), []);
  });

  it('a public feature with no login anywhere (as on ghcr.io): the anonymous token flow, no credentials sent', async () => {
    const open = await startTestRegistry({ anonymous: true });
    try {
      await open.pushFeature('devcontainers/features/hello', await feature('hello-public', { id: 'hello', version: '1.0.2', options: { who: { type: 'string', default: 'world' } } }), ['1']);
      // No docker config, no credential helper, no GITHUB_TOKEN.
      const bare = createFeaturesService({ env: { PATH: process.env.PATH, DOCKER_CONFIG: join(dir, 'no-docker-config') }, homeDir: join(dir, 'empty-home'), cacheDir: join(dir, 'cache-public'), runProcess, reporter: quiet });
      const result = await bare.resolve({ features: { [`${open.host}/devcontainers/features/hello:1`]: {} }, baseDir: dir });
      assert.deepEqual(result.features.map((f) => [f.metadata.id, f.metadata.version, f.options.values]), [['hello', '1.0.2', { who: 'world' }]]);
      // Challenged, asked for a token without a login, then fetched with it.
      assert.deepEqual(open.requests.slice(0, 3), ['GET /v2/devcontainers/features/hello/manifests/1', 'GET /token', 'GET /v2/devcontainers/features/hello/manifests/1']);
      assert.deepEqual(open.authorizations.filter((a) => a.startsWith('Basic ')), [], 'no credentials were sent');
    } finally {
      await open.close();
    }
  });

  it('GITHUB_TOKEN is the ghcr.io login when docker has none', async () => {
    const found = await registryCredentials('ghcr.io', { env: { GITHUB_TOKEN: 'ghp_x' }, homeDir: join(dir, 'home'), runProcess });
    assert.deepEqual({ password: found?.password, source: found?.source }, { password: 'ghp_x', source: 'GITHUB_TOKEN' });
    assert.equal(await registryCredentials('example.com', { env: { GITHUB_TOKEN: 'ghp_x' }, homeDir: join(dir, 'home'), runProcess }), undefined);
  });
});
