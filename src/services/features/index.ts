import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ProcessRunner } from '../../infrastructure/process.ts';
import { packBuildContext } from '../containers/build-context.ts';
import type { ContainerManager } from '../containers/types.ts';
import type { Host } from '../host/types.ts';
import { registryCredentials } from './credentials.ts';
import { FEATURES_LABEL, METADATA_LABEL } from './contributions.ts';
import { featureFolderName, featureImageHash, writeFeatureContext, type FeatureImageInput } from './image.ts';
import {
  containerEnvText, cumulativeEnvFiles, inPlacePlan, podProjectDir, POD_INSTALL_FAILED, POD_INSTALL_SCRIPT, POD_NO_TAR, POD_NOT_ROOT, POD_STATUS_SCRIPT,
} from './in-place.ts';
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
  /** What probeImage found ahead of time (while the project synced): reused when the base is still the one it saw. */
  probed?: Promise<FeatureImageProbe | undefined>;
}

/** The features image looked up ahead of the build step. */
export interface FeatureImageProbe {
  baseImageId: string;
  tag: string;
  exists: boolean;
}

export interface InPlaceRequest {
  features: readonly ResolvedFeature[];
  /** The project's slug: its record in the pod. */
  project: string;
  /** The image the pod runs (for messages). */
  image: string;
  containerUser?: string;
  remoteUser?: string;
  /** The features' merged containerEnv, for the sessions mltoolbox starts in the pod. */
  containerEnv: Readonly<Record<string, string>>;
  /** Reinstall everything (connect --force-rebuild). */
  force?: boolean;
}

/** Dev Container Features: fetched on this machine, built as layers on the target engine. */
export interface FeaturesService {
  resolve(request: ResolveRequest): Promise<ResolveFeaturesResult>;
  /** Writes the lockfile when its content changed. */
  writeLockfile(file: string, lock: Lockfile): Promise<boolean>;
  /** The features image on this engine: reused when its content hash is there, else built. */
  ensureImage(containers: ContainerManager, request: FeatureImageRequest, onProgress?: (line: string) => void): Promise<{ image: string; action: 'built' | 'reused-build' }>;
  /**
   * Looks the features image up without building anything (base image, tag
   * by content hash, does the engine have it): started while the project
   * syncs, so a cached connect waits for no engine round trip of its own.
   * Undefined when the base image is not there yet (ensureImage decides).
   */
  probeImage(containers: ContainerManager, request: Omit<FeatureImageRequest, 'labels' | 'force' | 'probed'>): Promise<FeatureImageProbe | undefined>;
  /**
   * Installs the features in a running instance that is the container (a
   * pod): only those it lacks by content hash; nothing on a second connect.
   */
  installInPlace(host: Pick<Host, 'execScript'>, request: InPlaceRequest, onProgress?: (line: string) => void): Promise<{ action: 'installed' | 'already-installed'; installed: string[] }>;
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

    async probeImage(containers, request) {
      const base = await containers.imageConfig(request.baseImage);
      if (!base) return undefined;
      const { tag } = imageTag(request, base);
      return { baseImageId: base.id, tag, exists: (await containers.imageId(tag)) !== undefined };
    },

    async ensureImage(containers, request, onProgress) {
      const base = await containers.imageConfig(request.baseImage);
      if (!base) throw new UserError('IMAGE_NOT_FOUND', `the base image ${request.baseImage} is not on the Docker host`, 'connect again; if it persists, check the image name');
      const { input, hash, tag } = imageTag(request, base);
      if (!request.force) {
        // The probe's answer holds while the base is the image it saw: no second look at the engine.
        const probed = await request.probed?.catch(() => undefined);
        const found = probed && probed.baseImageId === base.id && probed.tag === tag ? probed.exists : (await containers.imageId(tag)) !== undefined;
        if (found) return { image: tag, action: 'reused-build' };
      }
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

    async installInPlace(host, request, onProgress) {
      const users = { baseUser: '', ...(request.containerUser ? { containerUser: request.containerUser } : {}), ...(request.remoteUser ? { remoteUser: request.remoteUser } : {}) };
      const metadata = imageMetadataLabel(request.features);
      const plan = inPlacePlan({ features: request.features, ...users }, request.containerEnv, metadata);
      const project = podProjectDir(request.project);
      let first = 0;
      if (!request.force) {
        const status = await host.execScript(POD_STATUS_SCRIPT, { args: [project, ...plan.keys] });
        const lines = status.stdout.split('\n');
        const missing = new Set(lines.filter((l) => l.startsWith('missing ')).map((l) => l.slice('missing '.length).trim()));
        const record = lines.find((l) => l.startsWith('record '))?.slice('record '.length).trim();
        if (status.exitCode === 0 && missing.size === 0 && record === plan.record) return { action: 'already-installed', installed: [] };
        first = status.exitCode === 0 ? plan.keys.findIndex((key) => missing.has(key)) : 0;
        if (first < 0) first = plan.keys.length; // all installed: only the project's record changes
      }
      const input: FeatureImageInput = { baseImageId: request.image, features: request.features, ...users };
      const context = join(options.cacheDir, 'pod', `${plan.record.slice(0, 16)}-${process.pid}`);
      const envFiles = cumulativeEnvFiles(request.features);
      let tar: Buffer;
      try {
        await writeFeatureContext(context, request.image, input);
        for (const [index, feature] of request.features.entries()) {
          await writeFile(join(context, featureFolderName(index, feature), 'devcontainer-features.container.env'), envFiles[index]!);
        }
        await writeFile(join(context, 'project.env'), containerEnvText(request.containerEnv));
        await writeFile(join(context, 'metadata.json'), metadata);
        const chunks: Buffer[] = [];
        for await (const chunk of (await packBuildContext({ context })).stream) chunks.push(chunk as Buffer);
        tar = Buffer.concat(chunks);
      } finally {
        await rm(context, { recursive: true, force: true });
      }
      const pairs = request.features.slice(first).flatMap((feature, i) => [plan.keys[first + i]!, featureFolderName(first + i, feature)]);
      let stderr = '';
      const result = await host.execScript(POD_INSTALL_SCRIPT, {
        args: [project, plan.record, plan.keys.join('\n'), ...pairs],
        input: tar,
        onStderr: (chunk) => {
          stderr = (stderr + chunk).slice(-64 * 1024);
          const line = chunk.trim().split('\n').at(-1);
          if (line) onProgress?.(line);
        },
      });
      if (result.exitCode !== 0) throw podInstallFailed(result.exitCode, result.stderr || stderr, request);
      return { action: 'installed', installed: request.features.slice(first).map((f) => f.userId) };
    },
  };
}

/** A failed install in a pod: which feature, and what to do. */
function podInstallFailed(exitCode: number, stderr: string, request: InPlaceRequest): UserError {
  const lines = stderr.trim().split('\n');
  const tail = lines.slice(-15);
  if (exitCode === POD_NOT_ROOT) {
    return new UserError('FEATURE_INSTALL_FAILED', `features install as root, and ${lines.find((l) => l.includes('logs in as'))?.replace(/^mltoolbox: features install as root; /, '') ?? 'this pod does not log in as root'}`,
      'provision the pod from an image whose SSH login is root (RunPod\'s are), or install the tools in the image itself', { data: { exitCode } });
  }
  if (exitCode === POD_NO_TAR) {
    return new UserError('FEATURE_INSTALL_FAILED', `features cannot be copied into the pod: tar is not in ${request.image}`, 'use an image with tar (every Debian/Ubuntu image has it)', { data: { exitCode } });
  }
  const index = Number(/feature step f(\d+)-\S* failed/.exec(stderr)?.[1] ?? Number.NaN);
  const feature = Number.isInteger(index) ? request.features[index] : undefined;
  const what = feature ? `feature ${feature.userId} failed to install in the pod` : `installing features in the pod failed (exit code ${exitCode})`;
  return new UserError('FEATURE_INSTALL_FAILED', what,
    `its install.sh failed in the running pod (${request.image}); the output is listed. Check the feature supports the image's distribution, or change its options; the features installed before it are kept and not run again`,
    { details: tail, data: { exitCode, ...(feature ? { feature: feature.userId } : {}) } });
}

/** The features image's content hash and tag for this base image. */
function imageTag(request: Omit<FeatureImageRequest, 'labels' | 'force' | 'probed'>, base: { id: string; user: string }): { input: FeatureImageInput; hash: string; tag: string } {
  const input: FeatureImageInput = {
    baseImageId: base.id, baseUser: base.user, features: request.features,
    ...(request.containerUser ? { containerUser: request.containerUser } : {}),
    ...(request.remoteUser ? { remoteUser: request.remoteUser } : {}),
  };
  const hash = featureImageHash(input);
  return { input, hash, tag: `${request.repository}:features-${hash.slice(0, 12)}` };
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
