import { readFile } from 'node:fs/promises';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { keyPathToString, originAt, type Origin } from '../../services/config/layer.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import { problemsError, type ConfigProblem } from '../../services/config/problems.ts';
import type { ContainerManager, ContainerSpec, MountSpec } from '../../services/containers/types.ts';
import {
  devcontainerId, entrypointFor, FeatureReferenceProblem, lockfilePath, mergeContributions,
  type FeatureContributions, type FeatureImageProbe, type FeaturesService, type ResolvedFeature,
} from '../../services/features/index.ts';
import type { FeatureLifecycleKey } from '../../services/features/metadata.ts';
import type { Host } from '../../services/host/types.ts';
import type { ProjectIdentity } from '../connection/project-identity.ts';

/**
 * The connect step for Dev Container Features, between the base image and
 * the container: resolve (lockfile, client cache, registries), build the
 * feature layers on the target's engine (or reuse them by content hash),
 * and say what the container must add (mounts, privileges, entrypoint,
 * lifecycle commands).
 */
export interface FeatureStepInput {
  features: FeaturesService;
  containers: ContainerManager;
  loaded: LoadedConfig;
  projectDir: string;
  identity: ProjectIdentity;
  baseImage: string;
  reporter: Reporter;
  force: boolean;
  /** The features image looked up while the project synced (probeFeatureImage). */
  probed?: Promise<FeatureImageProbe | undefined>;
}

export interface FeatureStepResult {
  image: string;
  /** A pod (the instance is the container): 'installed' in the running pod, or 'already-installed' (nothing ran). */
  action: 'built' | 'reused-build' | 'installed' | 'already-installed';
  contributions: FeatureContributions;
  /** For the connect result: what was installed, in order, with the options install.sh saw. */
  installed: { id: string; version?: string; options: Record<string, string | boolean> }[];
}

const FEATURES_KEY = ['environment', 'features'] as const;

export function configuredFeatures(config: LoadedConfig['config']): Record<string, unknown> | undefined {
  const features = (config.environment as { features?: Record<string, unknown> }).features;
  return features && Object.keys(features).length > 0 ? features : undefined;
}

/** Where the lockfile lives: beside the file that declared `features` (devcontainer.json or mltoolbox.yaml). */
export function featuresLockfile(loaded: LoadedConfig): string | undefined {
  const file = loaded.origins.get(keyPathToString(FEATURES_KEY))?.file;
  return file ? lockfilePath(file) : undefined;
}

/** Resolves the configured features, turning reference and option problems into positioned config errors. */
export async function resolveConfiguredFeatures(features: FeaturesService, loaded: LoadedConfig, projectDir: string, options: { offline?: boolean } = {}) {
  const configured = configuredFeatures(loaded.config) ?? {};
  const lockfile = featuresLockfile(loaded);
  const override = (loaded.config.environment as { override_feature_install_order?: string[] }).override_feature_install_order;
  let result;
  try {
    result = await features.resolve({
      features: configured, baseDir: projectDir,
      ...(override ? { overrideOrder: override } : {}),
      ...(lockfile ? { lockfile } : {}),
      ...(options.offline ? { offline: true } : {}),
    });
  } catch (error) {
    if (!(error instanceof FeatureReferenceProblem)) throw error;
    throw await positioned(loaded, projectDir, 'FEATURE_REFERENCE_INVALID', 'a feature reference is invalid',
      'write registry/namespace/feature:version, an https://…/devcontainer-feature-NAME.tgz URL or a ./folder (see docs/devcontainer.md)',
      [{ userId: error.userId, message: error.message }]);
  }
  if (result.problems.length > 0) {
    throw await positioned(loaded, projectDir, 'CONFIG_INVALID', 'feature options do not match what the features declare',
      'fix each option listed above: the feature\'s devcontainer-feature.json says its type and allowed values', result.problems);
  }
  return { result, lockfile };
}

async function positioned(loaded: LoadedConfig, projectDir: string, code: 'CONFIG_INVALID' | 'FEATURE_REFERENCE_INVALID' | 'FEATURE_NOT_APPLICABLE', summary: string, hint: string,
  items: readonly { userId: string; option?: string; message: string }[]): Promise<UserError> {
  const problems: ConfigProblem[] = items.map((item) => {
    const path = [...FEATURES_KEY, item.userId, ...(item.option ? [item.option] : [])];
    const origin: Origin | undefined = originAt(loaded.origins, path);
    return { message: item.message, key: keyPathToString(path), ...(origin ? { origin } : {}) };
  });
  const sources = new Map<string, string>();
  for (const p of problems) {
    const file = p.origin?.file;
    if (file && !sources.has(file)) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) sources.set(file, text);
    }
  }
  return problemsError(code, summary, hint, problems, sources, projectDir);
}

/** Features resolved for a connect (before anything is synced or built: a wrong option fails fast). */
export interface PreparedFeatures {
  features: ResolvedFeature[];
}

/** Resolves the configured features (lockfile, client cache, registries) and updates the lockfile. */
export async function prepareFeatures(features: FeaturesService, loaded: LoadedConfig, projectDir: string, reporter: Reporter): Promise<PreparedFeatures | undefined> {
  if (!configuredFeatures(loaded.config)) return undefined;
  const { result, lockfile } = await reporter.task('Resolving features', () => resolveConfiguredFeatures(features, loaded, projectDir));
  for (const warning of result.warnings) reporter.warn(warning);
  if (lockfile && (await features.writeLockfile(lockfile, result.lockfile).catch((error: unknown) => {
    reporter.warn(`could not write ${lockfile}: ${(error as Error).message}`);
    return false;
  }))) reporter.info(`wrote ${lockfile}`);
  return { features: result.features };
}

/** The features image request's parts that do not depend on the build: what probeImage and ensureImage share. */
function imageRequest(input: Pick<FeatureStepInput, 'loaded' | 'identity' | 'baseImage'>, prepared: PreparedFeatures) {
  const user = input.loaded.config.environment.user;
  return {
    baseImage: input.baseImage,
    repository: `mltoolbox/${input.identity.slug}`,
    features: prepared.features,
    ...(user ? { containerUser: user, remoteUser: user } : {}),
  };
}

/**
 * Looks the features image up on the engine ahead of the image step (while
 * the project syncs): the cached connect then waits for no round trip of
 * its own. A failure is no answer (the image step looks again and reports).
 */
export function probeFeatureImage(input: Pick<FeatureStepInput, 'features' | 'containers' | 'loaded' | 'identity' | 'baseImage'>, prepared: PreparedFeatures): Promise<FeatureImageProbe | undefined> {
  return input.features.probeImage(input.containers, imageRequest(input, prepared)).catch(() => undefined);
}

/** Builds (or reuses, by content hash) the feature layers on the target's engine; says what the container must add. */
export async function applyFeatures(input: FeatureStepInput, prepared: PreparedFeatures): Promise<FeatureStepResult> {
  const { reporter } = input;
  const labels = { 'dev.mltoolbox.project': input.identity.slug, 'dev.mltoolbox.project-path': input.identity.localPath };
  const image = await reporter.task(`Installing features (${prepared.features.map((f) => f.metadata.id).join(', ')})`, (task) =>
    input.features.ensureImage(input.containers, {
      ...imageRequest(input, prepared),
      labels,
      force: input.force,
      ...(input.probed ? { probed: input.probed } : {}),
    }, (line) => task.update(line.slice(0, 60))));
  return {
    ...image,
    contributions: mergeContributions(prepared.features, devcontainerId({ 'dev.mltoolbox.project-path': input.identity.localPath })),
    installed: prepared.features.map((f) => ({ id: f.userId, ...(f.metadata.version ? { version: f.metadata.version } : {}), options: f.options.values })),
  };
}

/** What a feature may ask of a container that only a new container can give (a pod keeps the one it runs). */
const CREATE_ONLY = ['mounts', 'privileged', 'capAdd', 'securityOpt', 'init', 'entrypoint'] as const;

function createOnlyAsks(feature: ResolvedFeature): string[] {
  const m = feature.metadata;
  return CREATE_ONLY.filter((key) => {
    const value = m[key];
    return Array.isArray(value) ? value.length > 0 : Boolean(value);
  });
}

/**
 * On an instance that is the container (a pod), what a feature asks of the
 * container itself cannot apply: the pod was created by the provider and
 * keeps its mounts, privileges and entrypoint. Refused before anything
 * runs, at the feature's line, naming what it asks.
 */
export async function refuseCreateOnly(loaded: LoadedConfig, projectDir: string, prepared: PreparedFeatures, where: string): Promise<void> {
  const items = prepared.features.flatMap((feature) => {
    const asks = createOnlyAsks(feature);
    return asks.length === 0 ? [] : [{ userId: feature.userId, message: `feature '${feature.metadata.id}' asks for ${asks.join(', ')}, which a running pod cannot be given (${where} is the container itself)` }];
  });
  if (items.length === 0) return;
  throw await positioned(loaded, projectDir, 'FEATURE_NOT_APPLICABLE', `features ask for what only a new container can have, and ${where} is a running pod`,
    'remove these features here (or install what they install in the pod\'s image), or provision a VM instance (Lambda, Shadeform) where features are built into an image (docs/devcontainer.md#features-on-a-pod)', items);
}

/**
 * The features on an instance that is the container (a pod): each install.sh
 * runs in the running pod, in order, as root; what was installed is recorded
 * there by content hash, so a second connect runs nothing.
 */
export async function applyFeaturesInPlace(input: Omit<FeatureStepInput, 'containers'> & { host: Pick<Host, 'execScript'> }, prepared: PreparedFeatures): Promise<FeatureStepResult> {
  const { reporter, loaded } = input;
  const user = loaded.config.environment.user;
  const contributions = mergeContributions(prepared.features, devcontainerId({ 'dev.mltoolbox.project-path': input.identity.localPath }));
  const done = await reporter.task(`Installing features in the pod (${prepared.features.map((f) => f.metadata.id).join(', ')})`, (task) =>
    input.features.installInPlace(input.host, {
      features: prepared.features, project: input.identity.slug, image: input.baseImage, containerEnv: contributions.containerEnv,
      ...(user ? { containerUser: user, remoteUser: user } : {}),
      force: input.force,
    }, (line) => task.update(line.slice(0, 60))));
  if (done.action === 'installed' && done.installed.length > 0) reporter.info(`installed in the pod: ${done.installed.join(', ')}`);
  return {
    image: input.baseImage,
    action: done.action,
    contributions,
    installed: prepared.features.map((f) => ({ id: f.userId, ...(f.metadata.version ? { version: f.metadata.version } : {}), options: f.options.values })),
  };
}

/** The container spec with what the features ask for: mounts, privileges, capabilities, init, entrypoint. */
export function withFeatureContributions<T extends Omit<ContainerSpec, 'image'>>(spec: T, contributions: FeatureContributions): T {
  const mounts: MountSpec[] = [...(spec.mounts ?? [])];
  for (const mount of contributions.mounts) {
    if (mounts.some((m) => m.target === mount.target)) continue; // the user's own mount of that folder wins
    mounts.push({ type: mount.type, target: mount.target, ...(mount.source ? { source: mount.source } : {}) });
  }
  const entrypoint = entrypointFor(contributions.entrypoints);
  return {
    ...spec,
    mounts,
    ...(contributions.privileged ? { privileged: true } : {}),
    ...(contributions.capAdd.length ? { capAdd: [...new Set([...(spec.capAdd ?? []), ...contributions.capAdd])] } : {}),
    ...(contributions.securityOpt.length ? { securityOpt: [...new Set([...(spec.securityOpt ?? []), ...contributions.securityOpt])] } : {}),
    ...(contributions.init ? { init: true } : {}),
    ...(entrypoint ? { entrypoint } : {}),
  };
}

type UserLifecycleKey = 'on_create_command' | 'post_create_command' | 'post_start_command' | 'post_attach_command';

const BEFORE: Record<UserLifecycleKey, readonly FeatureLifecycleKey[]> = {
  on_create_command: ['onCreateCommand'], post_create_command: ['postCreateCommand'],
  post_start_command: ['postStartCommand'], post_attach_command: ['postAttachCommand'],
};

/**
 * The features' commands for one of connect's hooks, as the user's hooks run
 * them (a string for `sh -c`, or an argv): onCreate before the user's
 * on_create_command and updateContent after it (the spec's order: onCreate,
 * updateContent, postCreate); postCreate, postStart and postAttach before the user's.
 */
export function featureLifecycle(lifecycle: FeatureContributions['lifecycle'] | undefined, key: UserLifecycleKey, when: 'before' | 'after'): { command: string | string[]; feature: string }[] {
  if (!lifecycle) return [];
  const keys = when === 'after' ? (key === 'on_create_command' ? ['updateContentCommand'] as const : []) : BEFORE[key];
  const out: { command: string | string[]; feature: string }[] = [];
  for (const k of keys) {
    for (const { feature, command } of lifecycle[k]) {
      if (typeof command === 'string') out.push({ command, feature });
      else if (Array.isArray(command)) out.push({ command: [...(command as readonly string[])], feature });
      else for (const one of Object.values(command)) out.push({ command: typeof one === 'string' ? one : [...one], feature });
    }
  }
  return out;
}

/** One feature as `config show` lists it. */
export interface FeatureView {
  id: string;
  version?: string;
  /** With the feature's defaults applied when it is known (cached or local); as written otherwise. */
  options: Record<string, unknown>;
  /** False when the feature is not on this machine yet: its defaults are known after the first connect. */
  resolved: boolean;
  /** Pulled in by another feature's dependsOn rather than listed by you. */
  dependency?: boolean;
}

/**
 * The configured features for `config show`, without touching the network:
 * resolved from the lockfile and the client cache (and local folders); in
 * installation order when every feature is known.
 */
export async function describeFeatures(features: FeaturesService, loaded: LoadedConfig, projectDir: string): Promise<FeatureView[]> {
  const configured = configuredFeatures(loaded.config);
  if (!configured) return [];
  const { result } = await resolveConfiguredFeatures(features, loaded, projectDir, { offline: true });
  const views: FeatureView[] = result.features.map((f) => ({
    id: f.userId, ...(f.metadata.version ? { version: f.metadata.version } : {}), options: f.options.values, resolved: true, ...(f.fromUser ? {} : { dependency: true }),
  }));
  for (const [id, value] of Object.entries(configured)) {
    if (views.some((v) => v.id === id)) continue;
    views.push({ id, options: typeof value === 'string' ? { version: value } : typeof value === 'object' && value !== null ? { ...(value as Record<string, unknown>) } : {}, resolved: false });
  }
  return views;
}
