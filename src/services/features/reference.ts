import { basename } from 'node:path';
import { isLoopbackRegistry } from './oci-client.ts';

/**
 * A Dev Container Feature reference, as the spec spells them
 * (containers.dev/implementors/features/#referencing-a-feature):
 *
 * - OCI: `registry/namespace/feature[:tag|@sha256:digest]`; no tag means `latest`.
 * - a direct `https://…/devcontainer-feature-NAME.tgz` tarball;
 * - a local folder `./path` or `../path` (relative to the file that declares it).
 *
 * Plus the legacy short names (`python`, `common`) that the spec's reference
 * implementation maps onto `ghcr.io/devcontainers/features/NAME:1`.
 */
export type FeatureRef = OciFeatureRef | TarballFeatureRef | LocalFeatureRef;

interface RefBase {
  /** The key as the user wrote it (lockfile key, messages). */
  userId: string;
  /**
   * The un-versioned name used to match installsAfter and
   * overrideFeatureInstallOrder entries, lower-cased: `ghcr.io/devcontainers/features/node`.
   */
  resource: string;
  /** The feature's short id (last path segment): `node`. */
  id: string;
}

export interface OciFeatureRef extends RefBase {
  kind: 'oci';
  /** `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** `devcontainers/features/node`. */
  repository: string;
  /** `1`, `1.2.3`, `latest`; undefined when a digest is given. */
  tag?: string;
  /** `sha256:…` */
  digest?: string;
  /** Set when a legacy short name was mapped: the name as written. */
  legacyName?: string;
}

export interface TarballFeatureRef extends RefBase {
  kind: 'tarball';
  url: string;
}

export interface LocalFeatureRef extends RefBase {
  kind: 'local';
  /** As written, relative to the declaring file's folder. */
  path: string;
}

export class FeatureRefError extends Error {}

const LEGACY_NAMESPACE = 'ghcr.io/devcontainers/features';
/** Short names of the features that moved from microsoft/vscode-dev-containers to ghcr.io. */
const LEGACY_MIGRATED = new Set([
  'aws-cli', 'azure-cli', 'desktop-lite', 'docker-in-docker', 'docker-from-docker', 'dotnet', 'git', 'git-lfs', 'github-cli', 'java',
  'kubectl-helm-minikube', 'node', 'powershell', 'python', 'ruby', 'rust', 'sshd', 'terraform',
]);
/** Renamed on the way, or folded into another feature's options. */
const LEGACY_RENAMED: Readonly<Record<string, string>> = { golang: 'go', common: 'common-utils', gradle: 'java', maven: 'java', jupyterlab: 'python' };

const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** OCI distribution-spec repository path components and tags. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function isLocalReference(userId: string): boolean {
  return userId.startsWith('./') || userId.startsWith('../') || userId === '.' || userId === '..';
}

/** The legacy name's modern reference, or undefined when the name is not a legacy one. */
export function legacyFeatureId(name: string): string | undefined {
  if (LEGACY_MIGRATED.has(name)) return `${LEGACY_NAMESPACE}/${name}:1`;
  const renamed = LEGACY_RENAMED[name];
  return renamed ? `${LEGACY_NAMESPACE}/${renamed}:1` : undefined;
}

/** Parses one `features` key. Throws FeatureRefError with a sentence saying what is wrong. */
export function parseFeatureRef(userId: string): FeatureRef {
  const written = userId.trim();
  if (written === '') throw new FeatureRefError('a feature reference is empty');
  if (isLocalReference(written)) {
    const path = written.replace(/\/+$/, '');
    return { kind: 'local', userId, path, resource: path, id: basename(path) };
  }
  if (/^https?:\/\//i.test(written)) {
    let url: URL;
    try {
      url = new URL(written);
    } catch {
      throw new FeatureRefError(`'${written}' is not a valid https URL`);
    }
    // Plain http only on this machine's loopback (a test server), as for registries.
    if (url.protocol === 'http:' && !isLoopbackRegistry(url.host)) throw new FeatureRefError(`'${written}': tarball features are fetched over https (http only from localhost)`);
    const file = basename(url.pathname);
    const id = /^devcontainer-feature-(.+)\.tgz$/.exec(file)?.[1] ?? file.replace(/\.(tgz|tar\.gz|tar)$/, '');
    return { kind: 'tarball', userId, url: url.toString(), resource: url.toString(), id };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(written)) {
    throw new FeatureRefError(`'${written}': only https:// tarball URLs, OCI references and ./local folders are feature references`);
  }
  if (isAbsoluteLike(written)) {
    throw new FeatureRefError(`'${written}': a local feature must be a relative path starting with ./ (relative to the file that declares it)`);
  }
  if (!written.includes('/')) {
    const modern = legacyFeatureId(written.toLowerCase());
    if (!modern) {
      throw new FeatureRefError(`'${written}' is neither an OCI reference (registry/namespace/feature:version), an https:// tarball nor a ./local folder, and not one of the legacy short names`);
    }
    return { ...parseOci(modern, userId), legacyName: written };
  }
  return parseOci(written, userId);
}

function isAbsoluteLike(text: string): boolean {
  return text.startsWith('/') || text.startsWith('~') || /^[A-Za-z]:[\\/]/.test(text);
}

function parseOci(written: string, userId: string): OciFeatureRef {
  // Feature identifiers are case-insensitive and normalised to lower case (tags keep theirs).
  let rest = written;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1).toLowerCase();
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new FeatureRefError(`'${written}': the digest must be sha256: followed by 64 hex digits`);
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new FeatureRefError(`'${written}': '${tag}' is not a valid version tag`);
    if (digest) throw new FeatureRefError(`'${written}': give either a version tag or a digest, not both`);
  }
  const parts = rest.toLowerCase().split('/');
  const registry = parts[0]!;
  const path = parts.slice(1);
  if (path.length < 2 || !/^[a-z0-9.-]+(?::\d{1,5})?$/.test(registry) || !(registry.includes('.') || registry.includes(':') || registry === 'localhost')) {
    throw new FeatureRefError(`'${written}' is not an OCI feature reference: expected registry/namespace/feature[:version], e.g. ghcr.io/devcontainers/features/python:1`);
  }
  const bad = path.find((p) => !PATH_COMPONENT.test(p));
  if (bad !== undefined) throw new FeatureRefError(`'${written}': '${bad}' is not a valid OCI repository name part (lower-case letters, digits, . _ -)`);
  const repository = path.join('/');
  return {
    kind: 'oci', userId, registry, repository,
    ...(digest ? { digest } : { tag: tag ?? 'latest' }),
    resource: `${registry}/${repository}`,
    id: path.at(-1)!,
  };
}

/** The reference in its pinned form `registry/repo@sha256:…` (lockfile `resolved`). */
export function pinnedOciRef(ref: OciFeatureRef, digest: string): string {
  return `${ref.resource}@${digest}`;
}

/**
 * How an installsAfter / overrideFeatureInstallOrder entry names a feature:
 * un-versioned, lower-cased; legacy short names map like feature keys do.
 */
export function normalizeOrderEntry(entry: string): string {
  const written = entry.trim();
  if (isLocalReference(written)) return written.replace(/\/+$/, '');
  if (/^https?:\/\//i.test(written)) return written;
  if (!written.includes('/')) {
    const modern = legacyFeatureId(written.toLowerCase());
    return modern ? modern.replace(/:1$/, '') : written.toLowerCase();
  }
  const noDigest = written.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return (colon > lastSlash ? noDigest.slice(0, colon) : noDigest).toLowerCase();
}
