import { createHash } from 'node:crypto';
import { builtinEnvText, type FeatureImageInput } from './image.ts';
import { envFileText, shellLiteral } from './options.ts';
import type { ResolvedFeature } from './resolve.ts';

/**
 * Features on an instance that IS the container (a RunPod pod: no Docker, no
 * image to build on): each feature's install.sh runs in the running pod, in
 * installation order, as root, with the same environment a build gives it
 * (the builtin users, its options, the containerEnv of itself and the
 * features before it). What was installed is recorded in the pod by content
 * hash, so a second connect does nothing. Each project's containerEnv and
 * the features' metadata are kept beside it for the sessions mltoolbox starts.
 */
export const POD_STATE_DIR = '/var/lib/mltoolbox';

/** Where one project's feature record lives in the pod (env, metadata.json, features). */
export function podProjectDir(project: string): string {
  return `${POD_STATE_DIR}/projects/${project.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^\.+/, '_')}`;
}

/** What the pod is asked about before anything is sent: which installs it already has. */
export interface InPlacePlan {
  /** One key per feature, chained (feature i's key covers features 0…i): a changed feature reinstalls it and those after it. */
  keys: string[];
  /** The record that says the project's env and metadata are current. */
  record: string;
}

export function inPlacePlan(input: Pick<FeatureImageInput, 'features' | 'baseUser' | 'containerUser' | 'remoteUser'>, containerEnv: Readonly<Record<string, string>>, metadata: string): InPlacePlan {
  let previous = createHash('sha256').update('mltoolbox-pod-features-1\0').update(builtinEnvText(input)).digest('hex');
  const keys = input.features.map((feature) => {
    previous = createHash('sha256').update(previous).update('\0').update(feature.digest).update('\0').update(envFileText(feature.options.env)).update('\0')
      .update(JSON.stringify(feature.metadata.containerEnv)).digest('hex');
    return previous;
  });
  const record = createHash('sha256').update(keys.join('\n')).update('\0').update(containerEnvText(containerEnv)).update('\0').update(metadata).digest('hex');
  return { keys, record };
}

/**
 * containerEnv as a sourced sh file, with Docker's ENV meaning: `${NAME}` and
 * `$NAME` expand (features write PATH=/opt/x/bin:${PATH}); every other
 * character is literal (no command substitution, no quote escapes), and a
 * newline never starts a new line.
 */
export function containerEnvText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).filter(([key]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
    .map(([key, value]) => `export ${key}="${expandingValue(value)}"\n`).join('');
}

function expandingValue(value: string): string {
  const literal = (text: string) => text.replace(/[\r\n]+/g, ' ').replace(/[\\"`$]/g, (c) => `\\${c}`);
  let out = '';
  let last = 0;
  for (const match of value.matchAll(/\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g)) {
    out += literal(value.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return out + literal(value.slice(last));
}

/** The features' containerEnv up to and including each one: what its install.sh sees (Docker ENV before its RUN). */
export function cumulativeEnvFiles(features: readonly ResolvedFeature[]): string[] {
  const env: Record<string, string> = {};
  return features.map((feature) => {
    Object.assign(env, feature.metadata.containerEnv);
    return containerEnvText(env);
  });
}

/** `status`: prints `missing KEY` for each install the pod lacks and `record R` for the project's record. Args: project dir, keys. */
export const POD_STATUS_SCRIPT = [
  `state=${shellLiteral(POD_STATE_DIR)}/features/installed`,
  'project=$1; shift',
  'for key in "$@"; do [ -e "$state/$key" ] || echo "missing $key"; done',
  'printf "record %s\\n" "$(head -n1 "$project/record" 2>/dev/null)"',
].join('\n');

/** /etc/profile.d hook for login shells (/etc/profile resets PATH): sources the env file the session names; inert otherwise. */
const PROFILE_HOOK = [
  "# mltoolbox: the Dev Container Features' containerEnv, for the sessions mltoolbox starts in this pod.",
  'if [ -n "${MLTOOLBOX_FEATURES_ENV:-}" ] && [ -r "$MLTOOLBOX_FEATURES_ENV" ]; then . "$MLTOOLBOX_FEATURES_ENV"; fi',
  '',
].join('\n');
export const POD_PROFILE_HOOK = '/etc/profile.d/mltoolbox-features.sh';

/** Exit codes of the install script that name what went wrong. */
export const POD_NOT_ROOT = 90;
export const POD_NO_TAR = 92;
export const POD_INSTALL_FAILED = 91;

/**
 * `install`: unpacks the tar on stdin (the same folder a build context has:
 * builtin env, one folder per feature) and runs each listed feature's
 * install.sh as root; records each success by its key; then writes the
 * project's env, metadata and record (the record hash, then every key).
 * Args: project dir, record, every key (one per line), then `KEY FOLDER`
 * pairs to install, in installation order.
 */
export const POD_INSTALL_SCRIPT = [
  `state=${shellLiteral(POD_STATE_DIR)}/features/installed`,
  `if [ "$(id -u)" != 0 ]; then echo "mltoolbox: features install as root; this pod logs in as $(id -un)" >&2; exit ${POD_NOT_ROOT}; fi`,
  `command -v tar >/dev/null 2>&1 || { echo "mltoolbox: tar is not in the pod's image" >&2; exit ${POD_NO_TAR}; }`,
  'work=$(mktemp -d /tmp/dev-container-features.XXXXXX) || exit 1',
  'trap \'rm -rf "$work"\' EXIT',
  'tar -xf - -C "$work" || exit 1',
  'project=$1; record=$2; keys=$3; shift 3',
  'mkdir -p "$state" "$project" || exit 1',
  'while [ $# -ge 2 ]; do',
  '  key=$1; folder=$2; shift 2',
  '  echo "mltoolbox: installing feature step $folder" >&2',
  '  (cd "$work/$folder" && chmod +x ./install.sh && set -a && . ../devcontainer-features.builtin.env && . ./devcontainer-features.env && . ./devcontainer-features.container.env && set +a && ./install.sh) 1>&2 \\',
  `    || { echo "mltoolbox: feature step $folder failed" >&2; exit ${POD_INSTALL_FAILED}; }`,
  '  : > "$state/$key"',
  'done',
  `if [ -d /etc/profile.d ]; then printf '%s' ${shellLiteral(PROFILE_HOOK)} > ${POD_PROFILE_HOOK}; fi`,
  'cp "$work/project.env" "$project/env" && cp "$work/metadata.json" "$project/metadata.json" && printf "%s\\n%s\\n" "$record" "$keys" > "$project/record"',
].join('\n');
