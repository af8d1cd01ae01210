import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { rm } from 'node:fs/promises';
import { devcontainerId, entrypointFor, mergeContributions } from '../../../../src/services/features/contributions.ts';
import { builtinEnvText, featureImageHash, featuresDockerfile, type FeatureImageInput } from '../../../../src/services/features/image.ts';
import type { ContainerManager } from '../../../../src/services/containers/types.ts';
import { createFeaturesService } from '../../../../src/services/features/index.ts';
import { renderLockfile } from '../../../../src/services/features/lockfile.ts';
import { parseFeatureMetadata } from '../../../../src/services/features/metadata.ts';
import { resolveOptions } from '../../../../src/services/features/options.ts';
import { parseFeatureRef } from '../../../../src/services/features/reference.ts';
import type { ResolvedFeature } from '../../../../src/services/features/resolve.ts';

function feature(userId: string, metadata: Record<string, unknown>, given: Record<string, string | boolean> = {}): ResolvedFeature {
  const m = parseFeatureMetadata(JSON.stringify(metadata));
  return {
    ref: parseFeatureRef(userId), userId, key: userId, folder: '/nowhere', metadata: m, digest: `sha256:${'1'.repeat(64)}`,
    options: resolveOptions(m, given), given, dependsOn: [], fromUser: true,
  };
}

const node = feature('ghcr.io/devcontainers/features/node:1', {
  id: 'node', version: '1.4.0', options: { version: { type: 'string', default: 'lts' } },
  containerEnv: { NVM_DIR: '/usr/local/share/nvm', PATH: '/usr/local/share/nvm/current/bin:${PATH}' },
  entrypoint: '/usr/local/share/node-init.sh', capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'],
  mounts: [{ source: 'node-cache-${devcontainerId}', target: '/cache', type: 'volume' }], postCreateCommand: 'node -v',
  customizations: { vscode: { extensions: ['dbaeumer.vscode-eslint'] } },
});
const dind = feature('ghcr.io/devcontainers/features/docker-in-docker:2', {
  id: 'docker-in-docker', privileged: true, init: true, capAdd: ['SYS_PTRACE', 'NET_ADMIN'], entrypoint: '/usr/local/share/docker-init.sh',
  mounts: [{ source: 'dind-${devcontainerId}', target: '/var/lib/docker', type: 'volume' }, { target: '/cache', type: 'tmpfs' }], postCreateCommand: ['docker', 'info'],
});
const input: FeatureImageInput = { baseImageId: 'sha256:base', baseUser: 'vscode', features: [node, dind] };

describe('the features image', () => {
  it('one COPY + RUN per feature, its containerEnv before its install.sh, the base user restored', () => {
    const text = featuresDockerfile('sha256:base', input);
    const lines = text.split('\n');
    assert.equal(lines[1], 'FROM sha256:base');
    assert.equal(lines[2], 'USER root');
    const env = lines.indexOf('ENV NVM_DIR="/usr/local/share/nvm"');
    const copy = lines.indexOf('COPY f0-node/ /tmp/dev-container-features/f0-node/');
    assert.ok(env > 0 && copy > env, text);
    assert.ok(lines.includes('ENV PATH="/usr/local/share/nvm/current/bin:${PATH}"'), 'containerEnv keeps ${VAR} for the builder to expand');
    assert.equal(lines.filter((l) => l.startsWith('RUN ') && l.includes('install.sh')).length, 2);
    // Login shells keep the features' PATH: /etc/profile's PATH= becomes PATH=${PATH:-…}, as the devcontainers CLI does.
    assert.ok(lines.includes("RUN sed -i -E 's/((^|\\s)PATH=)([^\\$]*)$/\\1${PATH:-\\3}/g' /etc/profile 2>/dev/null || true"), text);
    assert.match(lines.find((l) => l.includes('f1-docker-in-docker') && l.startsWith('RUN'))!, /^RUN cd \/tmp\/dev-container-features\/f1-docker-in-docker && chmod \+x \.\/install\.sh && set -a && \. \.\.\/devcontainer-features\.builtin\.env && \. \.\/devcontainer-features\.env && set \+a/);
    assert.equal(lines.at(-2), 'USER vscode');
  });

  it('a newline in a reference or value never becomes a Dockerfile instruction', () => {
    const evil = feature('https://example.com/devcontainer-feature-x.tgz', { id: "x'\nRUN touch /pwned", containerEnv: { A: 'line1\nRUN touch /pwned' } });
    evil.userId = 'https://example.com/x.tgz\nRUN touch /pwned';
    const text = featuresDockerfile('base', { baseImageId: 'b', baseUser: '', features: [evil] });
    assert.equal(text.split('\n').filter((l) => l.startsWith('RUN touch')).length, 0, text);
  });

  it('builtin env: the users and their homes looked up in the image, quoted', () => {
    const text = builtinEnvText({ baseUser: 'vscode', containerUser: '1000:1000' });
    assert.match(text, /^_CONTAINER_USER='1000'\n_REMOTE_USER='1000'\n/);
    assert.match(text, /_REMOTE_USER_HOME=\$\( \(getent passwd '1000'/);
    assert.match(builtinEnvText({ baseUser: '' }), /_CONTAINER_USER='root'/);
    assert.match(builtinEnvText({ baseUser: 'x; rm -rf /' }), /_CONTAINER_USER='root'/, 'an odd user name is not trusted');
  });

  it('the cache key changes with the base image, an option, or a feature\'s content; not otherwise', () => {
    const same = featureImageHash(input);
    assert.equal(featureImageHash({ ...input }), same);
    assert.notEqual(featureImageHash({ ...input, baseImageId: 'sha256:other' }), same);
    const otherOption = feature(node.userId, { id: 'node', version: '1.4.0', options: { version: { type: 'string', default: 'lts' } } }, { version: '20' });
    assert.notEqual(featureImageHash({ ...input, features: [otherOption, dind] }), featureImageHash({ ...input, features: [{ ...otherOption, options: resolveOptions(otherOption.metadata, {}) }, dind] }));
    assert.notEqual(featureImageHash({ ...input, features: [{ ...node, digest: `sha256:${'2'.repeat(64)}` }, dind] }), same);
  });
});

describe('feature contributions', () => {
  it('merges in installation order: flags if any, lists concatenated without duplicates, mounts by target, lifecycle in order', () => {
    const merged = mergeContributions([node, dind], 'ID');
    assert.equal(merged.privileged, true);
    assert.equal(merged.init, true);
    assert.deepEqual(merged.capAdd, ['SYS_PTRACE', 'NET_ADMIN']);
    assert.deepEqual(merged.securityOpt, ['seccomp=unconfined']);
    assert.deepEqual(merged.mounts, [{ type: 'volume', target: '/var/lib/docker', source: 'dind-ID' }, { type: 'tmpfs', target: '/cache' }]);
    assert.deepEqual(merged.entrypoints, ['/usr/local/share/node-init.sh', '/usr/local/share/docker-init.sh']);
    assert.deepEqual(merged.lifecycle.postCreateCommand.map((c) => c.command), ['node -v', ['docker', 'info']]);
    assert.deepEqual(merged.customizations, [{ feature: node.userId, customizations: { vscode: { extensions: ['dbaeumer.vscode-eslint'] } } }]);
    assert.equal(merged.containerEnv.NVM_DIR, '/usr/local/share/nvm');
  });

  it('entrypoints run in order, then the container command is exec\'d', () => {
    assert.equal(entrypointFor([]), undefined);
    // An entrypoint with arguments keeps them as words; each word is quoted for sh.
    assert.deepEqual(entrypointFor(['/a.sh', "/b.sh --flag it's"]), ['/bin/sh', '-c', `/a.sh\n/b.sh --flag 'it'\\''s'\nexec "$@"`, '-']);
  });

  it('${devcontainerId} is the spec\'s label-based id: 52 base-32 characters, stable, label-order independent', () => {
    const id = devcontainerId({ b: '2', a: '1' });
    assert.match(id, /^[0-9a-v]{52}$/);
    assert.equal(devcontainerId({ a: '1', b: '2' }), id);
    assert.notEqual(devcontainerId({ a: '1' }), id);
  });
});

describe('devcontainer-lock.json', () => {
  it('renders keys sorted, dependsOn sorted, two-space JSON with a final newline', () => {
    const text = renderLockfile({ features: {
      'z/y/x:1': { version: '1.0.0', resolved: 'z/y/x@sha256:aa', integrity: 'sha256:aa' },
      'a/b/c:2': { version: '2.1.0', resolved: 'a/b/c@sha256:bb', integrity: 'sha256:bb', dependsOn: ['q', 'p'] },
    } });
    assert.equal(text, `{\n  "features": {\n    "a/b/c:2": {\n      "version": "2.1.0",\n      "resolved": "a/b/c@sha256:bb",\n      "integrity": "sha256:bb",\n      "dependsOn": [\n        "p",\n        "q"\n      ]\n    },\n    "z/y/x:1": {\n      "version": "1.0.0",\n      "resolved": "z/y/x@sha256:aa",\n      "integrity": "sha256:aa"\n    }\n  }\n}\n`);
  });
});

describe('the features image on the engine', () => {
  const engine = (images: Record<string, { id: string; user: string }>) => {
    const calls: string[] = [];
    const containers = {
      imageConfig: async (ref: string) => { calls.push(`config ${ref}`); return images[ref]; },
      imageId: async (ref: string) => { calls.push(`id ${ref}`); return images[ref]?.id; },
    } as unknown as ContainerManager;
    return { containers, calls };
  };
  const service = () => createFeaturesService({ env: {}, homeDir: tmpdir(), cacheDir: join(tmpdir(), `mlt-features-unit-${process.pid}`), runProcess: (async () => ({ code: 0, stdout: '', stderr: '' })) as never, reporter: {} as never });
  const request = { baseImage: 'debian:12', repository: 'mltoolbox/p', features: [node] };

  after(() => rm(join(tmpdir(), `mlt-features-unit-${process.pid}`), { recursive: true, force: true }));

  it('a probe made while the project synced answers the cached connect: no second look for the features image', async () => {
    const features = service();
    const base = { 'debian:12': { id: 'sha256:base', user: '' } };
    const first = engine(base);
    const probe = await features.probeImage(first.containers, request);
    assert.equal(probe?.exists, false);
    const images = { ...base, [probe!.tag]: { id: 'sha256:feat', user: '' } };
    const later = engine(images);
    const probed = await features.probeImage(later.containers, request);
    assert.equal(probed?.exists, true);
    later.calls.length = 0;
    const result = await features.ensureImage(later.containers, { ...request, labels: {}, probed: Promise.resolve(probed) });
    assert.deepEqual(result, { image: probe!.tag, action: 'reused-build' });
    assert.deepEqual(later.calls, ['config debian:12'], 'only the base (which the engine client keeps) is read');
  });

  it('a probe that saw another base image is not trusted', async () => {
    const features = service();
    const now = engine({ 'debian:12': { id: 'sha256:new', user: '' } });
    const stale = { baseImageId: 'sha256:old', tag: 'mltoolbox/p:features-old', exists: true };
    // It goes on to build (which fails here: the feature's folder is made up); what matters is that it looked again.
    await assert.rejects(features.ensureImage(now.containers, { ...request, labels: {}, probed: Promise.resolve(stale) }));
    assert.ok(now.calls.some((c) => c.startsWith('id mltoolbox/p:features-')), 'it looked for the image of the new base');
  });
});
