import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ProcessRunner } from '../../infrastructure/process.ts';
import type { ContainerManager } from '../containers/types.ts';
import { registryCredentials } from './credentials.ts';
import { FEATURES_LABEL, METADATA_LABEL } from './contributions.ts';
import { featureFolderName, featureImageHash, writeFeatureContext, type FeatureImageInput } from './image.ts';
import { readLockfile, writeLockfile, type Lockfile } from './lockfile.ts';
import { createRegistryClient, isLoopbackRegistry, networkReason, RegistryError, type RegistryClient } from './oci-client.ts';
import { resolveFeatures, type ResolvedFeature, type ResolveFeaturesResult } from './resolve.ts';

export { lockfilePath } from './lockfile.ts';
export { entrypointFor, devcontainerId, FEATURES_LABEL, lifecycleFromLabels, mergeContributions, METADATA_LABEL, type FeatureContributions } from './contributions.ts';
export { FeatureReferenceProblem, type ResolvedFeature, type FeatureOptionProblem } from './resolve.ts';

export interface FeaturesServiceOptions {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  /** `$XDG_CACHE_HOME/mltoolbox/features`: unpacked features and build contexts. */
  cacheDir: string;
  runProcess: ProcessRunner;
  reporter: Reporter;
  /** Tests inject a registry client; default: the real one. */
  registry?: RegistryClient;
}

export interface ResolveRequest {
  features: Readonly<Record<string, unknown>>;
  overrideOrder?: readonly string[];
  /** Folder that local `./feature` references are relative to. */
  baseDir: string;
  /** devcontainer-lock.json to read (and, by the caller, write). */
  lockfile?: string;
  /** Use only what is cached or local. */
  offline?: boolean;
}

export interface FeatureImageRequest extends Omit<FeatureImageInput, 'baseImageId' | 'baseUser'> {
  baseImage: string;
  /** Image name without tag: mltoolbox/<project>. */
  repository: string;
  labels: Record<string, string>;
  force?: boolean;
}

/** Dev Container Features: fetched on this machine, built as layers on the target engine. */
export interface FeaturesService {
  resolve(request: ResolveRequest): Promise<ResolveFeaturesResult>;
  /** Writes the lockfile when its content changed. */
  writeLockfile(file: string, lock: Lockfile): Promise<boolean>;
  /** The features image on this engine: reused when its content hash is there, else built. */
  ensureImage(containers: ContainerManager, request: FeatureImageRequest, onProgress?: (line: string) => void): Promise<{ image: string; action: 'built' | 'reused-build' }>;
}

const DOWNLOAD_TIMEOUT_MS = 60_000;
const MAX_DOWNLOAD = 256 * 1024 * 1024;

export function createFeaturesService(options: FeaturesServiceOptions): FeaturesService {
  const registry = options.registry ?? createRegistryClient({
    credentials: (host) => registryCredentials(host, { env: options.env, homeDir: options.homeDir, runProcess: options.runProcess }),
  });

  async function download(url: string): Promise<Buffer> {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), redirect: 'follow' });
    } catch (error) {
      throw new RegistryError(`cannot reach ${new URL(url).host} (${networkReason(error, DOWNLOAD_TIMEOUT_MS)})`, 'network', undefined, { cause: error });
    }
    const final = new URL(response.url || url);
    if (final.protocol !== 'https:' && !isLoopbackRegistry(final.host)) throw new RegistryError(`${url} redirected to plain http (${final.host})`, 'invalid');
    if (response.status === 404) throw new RegistryError(`${url} answered 404`, 'not-found', 404);
    if (response.status === 401 || response.status === 403) throw new RegistryError(`${url} answered ${response.status}`, 'auth', response.status);
    if (!response.ok) throw new RegistryError(`${url} answered HTTP ${response.status}`, response.status >= 500 ? 'network' : 'invalid', response.status);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > MAX_DOWNLOAD) throw new RegistryError(`${url} is larger than ${MAX_DOWNLOAD / 1024 / 1024} MiB`, 'invalid');
    return bytes;
  }

  return {
    async resolve(request) {
      const lockfile = request.lockfile ? await readLockfile(request.lockfile) : undefined;
      return resolveFeatures({
        requests: Object.entries(request.features).map(([userId, value]) => ({ userId, value })),
        ...(request.overrideOrder ? { overrideOrder: request.overrideOrder } : {}),
        baseDir: request.baseDir,
        ...(lockfile ? { lockfile } : {}),
        cacheDir: options.cacheDir,
        registry,
        download,
        ...(request.offline ? { offline: true } : {}),
      });
    },

    writeLockfile,

    async ensureImage(containers, request, onProgress) {
      const base = await containers.imageConfig(request.baseImage);
      if (!base) throw new UserError('IMAGE_NOT_FOUND', `the base image ${request.baseImage} is not on the Docker host`, 'connect again; if it persists, check the image name');
      const input: FeatureImageInput = {
        baseImageId: base.id, baseUser: base.user, features: request.features,
        ...(request.containerUser ? { containerUser: request.containerUser } : {}),
        ...(request.remoteUser ? { remoteUser: request.remoteUser } : {}),
      };
      const hash = featureImageHash(input);
      const tag = `${request.repository}:features-${hash.slice(0, 12)}`;
      if (!request.force && (await containers.imageId(tag))) return { image: tag, action: 'reused-build' };
      const context = join(options.cacheDir, 'builds', `${hash.slice(0, 16)}-${process.pid}`);
      await mkdir(join(options.cacheDir, 'builds'), { recursive: true });
      try {
        // FROM the id, not the name: the image the hash was taken over.
        await writeFeatureContext(context, base.id, input);
        const labels = { ...request.labels, [FEATURES_LABEL]: hash.slice(0, 12), [METADATA_LABEL]: imageMetadataLabel(request.features) };
        await containers.build({ context, tag, labels, ...(request.force ? { noCache: true } : {}) }, onProgress);
      } catch (error) {
        throw installFailed(error, request);
      } finally {
        await rm(context, { recursive: true, force: true });
      }
      return { image: tag, action: 'built' };
    },
  };
}

/**
 * The `devcontainer.metadata` image label, as the devcontainers CLI writes it:
 * one entry per installed feature with what it contributes (customizations
 * included), so editors attaching to the container find them.
 */
export function imageMetadataLabel(features: readonly ResolvedFeature[]): string {
  return JSON.stringify(features.map(({ userId, metadata: m }) => ({
    id: userId,
    ...(Object.keys(m.containerEnv).length ? { containerEnv: m.containerEnv } : {}),
    ...(m.mounts.length ? { mounts: m.mounts } : {}),
    ...(m.privileged ? { privileged: true } : {}),
    ...(m.init ? { init: true } : {}),
    ...(m.capAdd.length ? { capAdd: m.capAdd } : {}),
    ...(m.securityOpt.length ? { securityOpt: m.securityOpt } : {}),
    ...(m.entrypoint ? { entrypoint: m.entrypoint } : {}),
    ...m.lifecycle,
    ...(m.customizations ? { customizations: m.customizations } : {}),
  })));
}

/** A failed build names the feature whose install.sh failed (its step's folder is `f<index>-<id>`). */
function installFailed(error: unknown, request: FeatureImageRequest): unknown {
  if (!(error instanceof UserError) || error.code !== 'IMAGE_BUILD_FAILED') return error;
  const text = [error.message, ...error.details].join('\n');
  const index = [...text.matchAll(/dev-container-features\/f(\d+)-/g)].map((m) => Number(m[1])).at(-1);
  const feature = index === undefined ? undefined : request.features[index];
  if (!feature) return error;
  const folder = featureFolderName(index!, feature);
  return new UserError('FEATURE_INSTALL_FAILED', `feature ${feature.userId} failed to install: ${error.message.replace(/^building \S+ failed: /, '')}`,
    `its install.sh failed on this base image (${request.baseImage}); the output is listed. Check the feature supports the image's distribution, or change its options`,
    { details: error.details, data: { feature: feature.userId, step: folder }, cause: error });
}
