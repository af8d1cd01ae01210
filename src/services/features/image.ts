import { createHash } from 'node:crypto';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { envFileText, shellLiteral } from './options.ts';
import type { ResolvedFeature } from './resolve.ts';

/**
 * The image that installs features on top of the base image: one COPY and
 * one RUN per feature (each its own layer, as the spec asks), the feature's
 * containerEnv as ENV before its install.sh runs, scripts run as root, and
 * the base image's user restored at the end.
 */
export interface FeatureImageInput {
  /** The base image's id (sha256:…): the cache key changes when the base does. */
  baseImageId: string;
  /** The base image's configured user ('' = root). */
  baseUser: string;
  /** containerUser: who the container runs as (default: the base image's user). */
  containerUser?: string;
  /** remoteUser: who you work as (mltoolbox: the same user). */
  remoteUser?: string;
  features: readonly ResolvedFeature[];
}

export const FEATURES_DIR = '/tmp/dev-container-features';

/** `f0-node`: the feature's folder in the build context and the image. */
export function featureFolderName(index: number, feature: ResolvedFeature): string {
  return `f${index}-${feature.metadata.id.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').slice(0, 40)}`;
}

/** `root`, `dev`, `1000`, `1000:1000` → the user part, validated (it goes into a sourced sh file). */
function userName(user: string | undefined, fallback: string): string {
  const name = (user ?? '').split(':')[0] || fallback || 'root';
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) ? name : 'root';
}

/** devcontainer-features.builtin.env: the users features may install for, and their homes (looked up in the image). */
export function builtinEnvText(input: Pick<FeatureImageInput, 'baseUser' | 'containerUser' | 'remoteUser'>): string {
  const container = userName(input.containerUser, input.baseUser);
  const remote = userName(input.remoteUser, container);
  const home = (user: string) => `$( (getent passwd ${shellLiteral(user)} 2>/dev/null || grep ${shellLiteral(`^${user}:`)} /etc/passwd) | cut -d: -f6 | head -n1)`;
  return [
    `_CONTAINER_USER=${shellLiteral(container)}`,
    `_REMOTE_USER=${shellLiteral(remote)}`,
    `_CONTAINER_USER_HOME=${home(container)}`,
    `_REMOTE_USER_HOME=${home(remote)}`,
    '',
  ].join('\n');
}

/** A Dockerfile ENV value: double-quoted; `${VAR}` still expands (features rely on PATH=…:${PATH}). */
function envValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, ' ')}"`;
}

/** One line of Dockerfile text: a newline in a value must never become an instruction. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** `PATH="/usr/bin:…"` → `PATH=${PATH:-"/usr/bin:…"}` in /etc/profile: an inherited PATH is kept. */
const PROFILE_PATH_SED = 's/((^|\\s)PATH=)([^\\$]*)$/\\1${PATH:-\\3}/g';

export function featuresDockerfile(baseImage: string, input: FeatureImageInput): string {
  const lines = [
    '# Written by mltoolbox: Dev Container Features on top of the base image.',
    `FROM ${oneLine(baseImage)}`,
    'USER root',
    `COPY devcontainer-features.builtin.env ${FEATURES_DIR}/`,
  ];
  input.features.forEach((feature, index) => {
    const folder = featureFolderName(index, feature);
    lines.push('', oneLine(`# ${feature.userId}${feature.metadata.version ? ` (${feature.metadata.version})` : ''}`));
    for (const [key, value] of Object.entries(feature.metadata.containerEnv)) lines.push(`ENV ${key}=${envValue(value)}`);
    lines.push(`COPY ${folder}/ ${FEATURES_DIR}/${folder}/`);
    lines.push(`RUN cd ${FEATURES_DIR}/${folder} && chmod +x ./install.sh && set -a && . ../devcontainer-features.builtin.env && . ./devcontainer-features.env && set +a && echo ${oneLine(shellLiteral(`mltoolbox: installing feature ${feature.metadata.id}`))} && ./install.sh`);
  });
  // Login shells (mltoolbox shell runs bash -l): /etc/profile resets PATH, losing the features' PATH=…:${PATH}.
  // Keep an inherited PATH there, as the devcontainers CLI does (its sed, once per image here).
  lines.push('', `RUN sed -i -E ${shellLiteral(PROFILE_PATH_SED)} /etc/profile 2>/dev/null || true`);
  if (input.baseUser && input.baseUser !== 'root' && input.baseUser !== '0') lines.push('', `USER ${oneLine(input.baseUser)}`);
  return `${lines.join('\n')}\n`;
}

/** The cache key of the feature image: base image, every feature's content and options, the Dockerfile. */
export function featureImageHash(input: FeatureImageInput): string {
  const hash = createHash('sha256').update('mltoolbox-features-1\0').update(input.baseImageId).update('\0');
  hash.update(featuresDockerfile('BASE', input)).update(builtinEnvText(input));
  for (const feature of input.features) hash.update(`${feature.digest}\0${envFileText(feature.options.env)}\0`);
  return hash.digest('hex');
}

/** Writes the build context folder: Dockerfile, builtin env, one folder per feature with its options file. */
export async function writeFeatureContext(folder: string, baseImage: string, input: FeatureImageInput): Promise<void> {
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'Dockerfile'), featuresDockerfile(baseImage, input));
  await writeFile(join(folder, 'devcontainer-features.builtin.env'), builtinEnvText(input));
  for (const [index, feature] of input.features.entries()) {
    const target = join(folder, featureFolderName(index, feature));
    await cp(feature.folder, target, { recursive: true, filter: (source) => !source.endsWith('.mltoolbox-complete') });
    await writeFile(join(target, 'devcontainer-features.env'), envFileText(feature.options.env));
  }
}
