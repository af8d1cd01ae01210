import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { LockEntry, Lockfile } from './lockfile.ts';
import { FeatureMetadataError, parseFeatureMetadata, userOptions, type FeatureMetadata } from './metadata.ts';
import { MEDIA_TYPES, RegistryError, sha256Digest, type OciManifest, type RegistryClient } from './oci-client.ts';
import { resolveOptions, type ResolvedOptions } from './options.ts';
import { computeInstallOrder, FeatureOrderError, type OrderNode } from './order.ts';
import { FeatureRefError, normalizeOrderEntry, parseFeatureRef, pinnedOciRef, type FeatureRef, type OciFeatureRef } from './reference.ts';
import { cacheFolder, folderDigest, isCached, unpackToCache } from './store.ts';

/** One entry of the user's `features` (in the order written). */
export interface FeatureRequest {
  userId: string;
  /** The value as written: an object of options, a version string, true or {}. */
  value: unknown;
}

export interface ResolveFeaturesInput {
  requests: readonly FeatureRequest[];
  overrideOrder?: readonly string[];
  /** Folder local references (`./x`) are relative to. */
  baseDir: string;
  lockfile?: Lockfile;
  /** Client-side cache of unpacked features. */
  cacheDir: string;
  registry: RegistryClient;
  /** GET of a tarball URL (https, or http on loopback). */
  download(url: string): Promise<Buffer>;
  /** Only use what is cached or local (config show): nothing is fetched. */
  offline?: boolean;
}

export interface ResolvedFeature {
  ref: FeatureRef;
  /** The reference as written (user features) or as the dependsOn entry names it. */
  userId: string;
  /** Unique per content + resolved options. */
  key: string;
  /** The unpacked feature on this machine. */
  folder: string;
  metadata: FeatureMetadata;
  /** sha256 of the artifact (OCI: manifest digest; tarball: the file; local: the folder's content hash). */
  digest: string;
  /** What install.sh sees: the options with defaults applied, and their variables. */
  options: ResolvedOptions;
  /** Options written explicitly (by the user or a dependsOn entry). */
  given: Record<string, string | boolean>;
  /** Keys of the features this one depends on. */
  dependsOn: string[];
  /** Whether the user listed it (else a dependsOn pulled it in). */
  fromUser: boolean;
  /** Lockfile entry (OCI and tarball features). */
  lock?: LockEntry;
}

/** Problems with options, positioned by the caller from the feature key and option name. */
export interface FeatureOptionProblem {
  /** The user's feature key whose options are wrong (or that pulled in the dependency). */
  userId: string;
  option?: string;
  message: string;
}

export interface ResolveFeaturesResult {
  /** In installation order. */
  features: ResolvedFeature[];
  problems: FeatureOptionProblem[];
  warnings: string[];
  /** The lockfile as it should now read. */
  lockfile: Lockfile;
  /** False when offline and something was neither cached nor local. */
  complete: boolean;
}

/** Raised when a reference cannot be parsed: the caller positions it at the key. */
export class FeatureReferenceProblem extends Error {
  readonly userId: string;

  constructor(userId: string, message: string) {
    super(message);
    this.userId = userId;
  }
}

const MAX_FEATURES = 200;

/**
 * Resolves the user's features and, recursively, their dependsOn: parses each
 * reference, fetches it (lockfile pin + client cache first), reads its
 * metadata, applies its options, then computes the spec's install order.
 */
export async function resolveFeatures(input: ResolveFeaturesInput): Promise<ResolveFeaturesResult> {
  const problems: FeatureOptionProblem[] = [];
  const warnings: string[] = [];
  const byKey = new Map<string, ResolvedFeature>();
  const lock: Lockfile = { features: {} };
  let complete = true;
  const fetched = new Map<string, Promise<Fetched | undefined>>();

  const fetchOnce = (ref: FeatureRef, baseDir: string): Promise<Fetched | undefined> => {
    const id = ref.kind === 'local' ? `local:${resolvePath(baseDir, ref.path)}` : ref.userId;
    let pending = fetched.get(id);
    if (!pending) fetched.set(id, (pending = fetchFeature(ref, baseDir, input)));
    return pending;
  };

  async function add(userId: string, value: unknown, baseDir: string, owner: string, fromUser: boolean, trail: readonly string[]): Promise<string | undefined> {
    if (byKey.size > MAX_FEATURES) throw new UserError('FEATURE_ORDER_INVALID', `more than ${MAX_FEATURES} features after following dependsOn`, 'check the features\' dependsOn for a runaway chain');
    let ref: FeatureRef;
    try {
      ref = parseFeatureRef(userId);
    } catch (error) {
      if (error instanceof FeatureRefError) throw new FeatureReferenceProblem(fromUser ? userId : owner, fromUser ? error.message : `dependsOn of ${trail.at(-1)}: ${error.message}`);
      throw error;
    }
    if (ref.kind === 'oci' && ref.legacyName) warnings.push(`feature '${ref.legacyName}' is a legacy short name; it is read as ${ref.resource}:${ref.tag} (write that instead)`);
    let given: Record<string, string | boolean>;
    try {
      given = userOptions(value, `feature '${userId}'`);
    } catch (error) {
      problems.push({ userId: owner, message: (error as Error).message });
      return undefined;
    }
    const found = await fetchOnce(ref, baseDir);
    if (!found) {
      complete = false;
      return undefined;
    }
    if (found.metadata.deprecated) warnings.push(`feature ${ref.resource} is deprecated by its author`);
    const options = resolveOptions(found.metadata, given);
    for (const p of options.problems) problems.push({ userId: owner, ...(fromUser ? { option: p.option } : {}), message: fromUser ? p.message : `${p.message} (in dependsOn of ${trail.at(-1)})` });
    for (const name of options.unknown) if (!options.problems.some((p) => p.option === name)) warnings.push(`feature '${userId}' declares no option '${name}'; it is passed to install.sh as ${name.toUpperCase()} anyway`);
    const key = createHash('sha256').update(`${found.digest}\0${ref.kind === 'local' ? found.folder : ''}\0${JSON.stringify(sortKeys(options.values))}`).digest('hex').slice(0, 16);
    const existing = byKey.get(key);
    if (existing) {
      existing.fromUser ||= fromUser;
      return key;
    }
    if (found.lock) lock.features[userId] = { ...found.lock, ...(Object.keys(found.metadata.dependsOn).length ? { dependsOn: Object.keys(found.metadata.dependsOn) } : {}) };
    const feature: ResolvedFeature = {
      ref, userId, key, folder: found.folder, metadata: found.metadata, digest: found.digest, options, given, dependsOn: [], fromUser,
      ...(found.lock ? { lock: found.lock } : {}),
    };
    byKey.set(key, feature);
    const label = ref.kind === 'oci' ? ref.resource : userId;
    if (trail.includes(label)) throw new UserError('FEATURE_ORDER_INVALID', `the features' dependsOn form a cycle: ${[...trail, label].join(' → ')}`, 'a feature cannot depend on itself through others; report it to the features\' authors or drop one of them');
    for (const [depId, depValue] of Object.entries(found.metadata.dependsOn)) {
      const depBase = ref.kind === 'local' ? dirname(found.folder) : baseDir;
      const depKey = await add(depId, depValue, depBase, owner, false, [...trail, label]);
      if (depKey) feature.dependsOn.push(depKey);
    }
    return key;
  }

  for (const request of input.requests) await add(request.userId, request.value, input.baseDir, request.userId, true, []);

  const all = [...byKey.values()];
  let ordered = all;
  if (complete && problems.length === 0) {
    const nodes: OrderNode[] = all.map((f) => ({
      key: f.key,
      resource: f.ref.resource.toLowerCase(),
      aliases: f.ref.kind === 'oci' ? f.metadata.legacyIds.map((id) => `${f.ref.resource.slice(0, f.ref.resource.lastIndexOf('/'))}/${id}`.toLowerCase()) : [f.metadata.id.toLowerCase()],
      ...(f.ref.kind === 'oci' && f.ref.tag ? { tag: f.ref.tag } : {}),
      userOptions: f.given,
      canonical: f.ref.kind === 'oci' ? pinnedOciRef(f.ref, f.digest) : `${f.ref.resource}@${f.digest}`,
      dependsOn: f.dependsOn,
      installsAfter: f.metadata.installsAfter.map(normalizeOrderEntry),
    }));
    try {
      const result = computeInstallOrder(nodes, (input.overrideOrder ?? []).map(normalizeOrderEntry));
      ordered = result.order.map((n) => byKey.get(n.key)!);
      for (const entry of result.unmatchedOverrides) warnings.push(`overrideFeatureInstallOrder names '${entry}', which is not among the features; it is ignored`);
    } catch (error) {
      if (error instanceof FeatureOrderError) {
        throw new UserError('FEATURE_ORDER_INVALID', error.message, 'features that must install after each other cannot also install before: remove one of them, or report the loop to the features\' authors', { data: { cycle: error.cycle ?? [] } });
      }
      throw error;
    }
  }
  return { features: ordered, problems, warnings, lockfile: lock, complete };
}

function sortKeys(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(values).sort().map((k) => [k, values[k]]));
}

interface Fetched {
  folder: string;
  metadata: FeatureMetadata;
  digest: string;
  lock?: LockEntry;
}

async function fetchFeature(ref: FeatureRef, baseDir: string, input: ResolveFeaturesInput): Promise<Fetched | undefined> {
  if (ref.kind === 'local') {
    const folder = resolvePath(baseDir, ref.path);
    const info = await stat(folder).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new UserError('FEATURE_NOT_FOUND', `the local feature ${ref.path} is not a folder (looked at ${folder})`, 'local features are folders relative to the file that lists them, holding devcontainer-feature.json and install.sh');
    }
    const metadata = await readMetadata(folder, ref);
    return { folder, metadata, digest: await folderDigest(folder) };
  }
  const locked = input.lockfile?.features[ref.userId];
  if (ref.kind === 'tarball') {
    const digest = locked && locked.resolved === ref.url ? locked.integrity : undefined;
    if (digest && (await isCached(cacheFolder(input.cacheDir, digest)))) return fromCache(ref, digest, locked!.version);
    if (input.offline) return undefined;
    const bytes = await input.download(ref.url).catch((error: unknown) => {
      throw fetchError(ref, error instanceof RegistryError ? error : new RegistryError((error as Error).message, 'network', undefined, { cause: error }));
    });
    const actual = sha256Digest(bytes);
    if (digest && digest !== actual) throw lockMismatch(ref, digest, actual);
    await unpack(input.cacheDir, actual, bytes, ref);
    return fromCache(ref, actual, undefined);
  }
  const pinned = ref.digest ?? (locked && sameResource(locked.resolved, ref) ? locked.integrity : undefined);
  if (pinned && (await isCached(cacheFolder(input.cacheDir, pinned)))) return fromCache(ref, pinned, locked?.version);
  if (input.offline) return undefined;
  try {
    const { digest, manifest } = await input.registry.manifest(ref.registry, ref.repository, pinned ?? ref.tag ?? 'latest');
    if (pinned && digest !== pinned) throw lockMismatch(ref, pinned, digest);
    const layer = pickLayer(manifest, ref);
    if (!(await isCached(cacheFolder(input.cacheDir, digest)))) {
      const bytes = await input.registry.blob(ref.registry, ref.repository, layer.digest);
      await unpack(input.cacheDir, digest, bytes, ref);
    }
    return fromCache(ref, digest, undefined);
  } catch (error) {
    if (error instanceof RegistryError) throw fetchError(ref, error);
    throw error;
  }

  async function fromCache(r: FeatureRef, digest: string, version: string | undefined): Promise<Fetched> {
    const folder = cacheFolder(input.cacheDir, digest);
    const metadata = await readMetadata(folder, r);
    const resolved = r.kind === 'oci' ? pinnedOciRef(r, digest) : (r as { url: string }).url;
    return { folder, metadata, digest, lock: { version: metadata.version ?? version ?? '', resolved, integrity: digest } };
  }
}

function sameResource(resolved: string, ref: OciFeatureRef): boolean {
  return resolved.toLowerCase().split('@')[0] === ref.resource;
}

function pickLayer(manifest: OciManifest, ref: OciFeatureRef) {
  const layer = manifest.layers.find((l) => l.mediaType === MEDIA_TYPES.layer) ?? manifest.layers[0]!;
  if (manifest.layers.length > 1 && layer.mediaType !== MEDIA_TYPES.layer) {
    throw new UserError('FEATURE_INVALID', `${ref.userId} is not a Dev Container Feature: its manifest has no ${MEDIA_TYPES.layer} layer`, 'check the reference: it must name a feature published per the features-distribution spec');
  }
  return layer;
}

async function unpack(cacheDir: string, digest: string, bytes: Buffer, ref: FeatureRef): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  try {
    await unpackToCache(cacheFolder(cacheDir, digest), bytes);
  } catch (error) {
    throw new UserError('FEATURE_INVALID', `cannot unpack feature ${ref.userId}: ${(error as Error).message}`, 'the download is not a valid feature archive (tar or tgz); check the reference');
  }
}

async function readMetadata(folder: string, ref: FeatureRef): Promise<FeatureMetadata> {
  const text = await readFile(join(folder, 'devcontainer-feature.json'), 'utf8').catch(() => undefined);
  if (text === undefined) throw new UserError('FEATURE_INVALID', `feature ${ref.userId} has no devcontainer-feature.json`, 'a feature is a folder with devcontainer-feature.json and install.sh at its top level');
  if (!(await stat(join(folder, 'install.sh')).catch(() => undefined))?.isFile()) {
    throw new UserError('FEATURE_INVALID', `feature ${ref.userId} has no install.sh`, 'a feature is a folder with devcontainer-feature.json and install.sh at its top level');
  }
  try {
    return parseFeatureMetadata(text);
  } catch (error) {
    if (error instanceof FeatureMetadataError) throw new UserError('FEATURE_INVALID', `feature ${ref.userId}: ${error.message}`, 'the feature\'s devcontainer-feature.json breaks the spec; report it to its author, or pin an older version');
    throw error;
  }
}

function lockMismatch(ref: FeatureRef, expected: string, actual: string): UserError {
  return new UserError('FEATURE_LOCK_MISMATCH', `feature ${ref.userId} changed since devcontainer-lock.json pinned it (expected ${expected}, got ${actual})`,
    'if the change is expected, delete its entry from devcontainer-lock.json and connect again to pin the new content; otherwise do not trust this download', { data: { feature: ref.userId, expected, actual } });
}

function fetchError(ref: FeatureRef, error: RegistryError): UserError {
  const where = ref.kind === 'oci' ? `registry ${ref.registry}` : ref.kind === 'tarball' ? new URL(ref.url).host : 'disk';
  const data = { feature: ref.userId, registry: where, failure: error.failure };
  switch (error.failure) {
    case 'auth':
      return new UserError('FEATURE_AUTH_FAILED', `cannot fetch feature ${ref.userId} from ${where}: ${error.message}`,
        ref.kind === 'oci' && ref.registry === 'ghcr.io'
          ? 'log in with `docker login ghcr.io` or set GITHUB_TOKEN (a token with read:packages) on this machine'
          : `log in on this machine: docker login ${ref.kind === 'oci' ? ref.registry : where}`, { data, cause: error });
    case 'not-found':
      return new UserError('FEATURE_NOT_FOUND', `feature ${ref.userId} was not found on ${where}: ${error.message}`,
        'check the name and version tag (a major version such as :1 is a tag too); private features need a login: docker login', { data, cause: error });
    case 'invalid':
      return new UserError('FEATURE_INVALID', `feature ${ref.userId} from ${where} is not usable: ${error.message}`, 'check the reference; the registry may hold something other than a feature', { data, cause: error });
    default:
      return new UserError('FEATURE_FETCH_FAILED', `cannot fetch feature ${ref.userId} from ${where}: ${error.message}`,
        `features are downloaded by this machine (not the GPU host): check its network or proxy reaches ${where}, then connect again; with a devcontainer-lock.json, fetched features are reused offline`, { data, cause: error });
  }
}
