import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureRefError, normalizeOrderEntry, parseFeatureRef } from '../../../../src/services/features/reference.ts';

describe('feature references', () => {
  it('OCI: tag, major version, implicit latest, digest; lower-cased resource', () => {
    assert.deepEqual(parseFeatureRef('ghcr.io/devcontainers/features/python:1'), {
      kind: 'oci', userId: 'ghcr.io/devcontainers/features/python:1', registry: 'ghcr.io', repository: 'devcontainers/features/python',
      tag: '1', resource: 'ghcr.io/devcontainers/features/python', id: 'python',
    });
    assert.equal(parseFeatureRef('ghcr.io/devcontainers/features/python:1.2.3').kind === 'oci' && (parseFeatureRef('ghcr.io/devcontainers/features/python:1.2.3') as { tag?: string }).tag, '1.2.3');
    assert.equal((parseFeatureRef('GHCR.io/Devcontainers/Features/Go') as { tag?: string; resource: string }).tag, 'latest');
    assert.equal(parseFeatureRef('GHCR.io/Devcontainers/Features/Go').resource, 'ghcr.io/devcontainers/features/go');
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = parseFeatureRef(`ghcr.io/o/r/f@${digest}`);
    assert.equal(pinned.kind, 'oci');
    assert.equal((pinned as { digest?: string }).digest, digest);
    assert.equal((pinned as { tag?: string }).tag, undefined);
  });

  it('a registry with a port (a local registry) is OCI, not a tag', () => {
    const ref = parseFeatureRef('127.0.0.1:5000/features/hello:1');
    assert.equal(ref.kind, 'oci');
    assert.equal((ref as { registry: string }).registry, '127.0.0.1:5000');
    assert.equal((ref as { repository: string }).repository, 'features/hello');
    assert.equal((ref as { tag?: string }).tag, '1');
  });

  it('tarballs: https anywhere, http only on loopback; the id comes from the file name', () => {
    const ref = parseFeatureRef('https://example.com/releases/devcontainer-feature-go.tgz');
    assert.equal(ref.kind, 'tarball');
    assert.equal(ref.id, 'go');
    assert.equal(parseFeatureRef('http://127.0.0.1:8080/devcontainer-feature-x.tgz').kind, 'tarball');
    assert.throws(() => parseFeatureRef('http://example.com/devcontainer-feature-x.tgz'), FeatureRefError);
  });

  it('local folders are ./ or ../ relative paths; absolute paths are refused', () => {
    assert.deepEqual(parseFeatureRef('./.devcontainer/my-feature/'), { kind: 'local', userId: './.devcontainer/my-feature/', path: './.devcontainer/my-feature', resource: './.devcontainer/my-feature', id: 'my-feature' });
    assert.equal(parseFeatureRef('../shared/f').kind, 'local');
    assert.throws(() => parseFeatureRef('/abs/feature'), /relative path starting with \.\//);
  });

  it('legacy short names map as the reference implementation does', () => {
    const python = parseFeatureRef('python');
    assert.equal(python.kind, 'oci');
    assert.equal(python.resource, 'ghcr.io/devcontainers/features/python');
    assert.equal((python as { tag?: string }).tag, '1');
    assert.equal((python as { legacyName?: string }).legacyName, 'python');
    assert.equal(parseFeatureRef('golang').resource, 'ghcr.io/devcontainers/features/go');
    assert.equal(parseFeatureRef('common').resource, 'ghcr.io/devcontainers/features/common-utils');
    assert.throws(() => parseFeatureRef('fish'), /legacy short names/);
  });

  it('bad references say what is wrong', () => {
    assert.throws(() => parseFeatureRef('ghcr.io/python'), /expected registry\/namespace\/feature/);
    assert.throws(() => parseFeatureRef('ghcr.io/o/r/f@sha256:123'), /64 hex digits/);
    assert.throws(() => parseFeatureRef('ftp://x/y'), /only https/);
    assert.throws(() => parseFeatureRef('ghcr.io/o/r/f:bad tag'), /not a valid version tag/);
  });

  it('installsAfter / overrideFeatureInstallOrder entries drop the version and digest', () => {
    assert.equal(normalizeOrderEntry('ghcr.io/devcontainers/features/node:1'), 'ghcr.io/devcontainers/features/node');
    assert.equal(normalizeOrderEntry('GHCR.IO/devcontainers/features/node'), 'ghcr.io/devcontainers/features/node');
    assert.equal(normalizeOrderEntry(`ghcr.io/o/r/f@sha256:${'b'.repeat(64)}`), 'ghcr.io/o/r/f');
    assert.equal(normalizeOrderEntry('127.0.0.1:5000/f/x'), '127.0.0.1:5000/f/x');
    assert.equal(normalizeOrderEntry('common'), 'ghcr.io/devcontainers/features/common-utils');
  });
});
