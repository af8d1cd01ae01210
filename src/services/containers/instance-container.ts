import { UserError } from '../../core/errors.ts';
import { FEATURES_LABEL, METADATA_LABEL } from '../features/contributions.ts';
import type { SshTarget } from '../ssh/target.ts';
import type { SshService } from '../ssh/types.ts';
import type { ContainerInfo, ContainerManager, EnsureResult } from './types.ts';

/** Sources the features' containerEnv file named by $MLTOOLBOX_FEATURES_ENV, when there is one (sh). */
const SOURCE_FEATURES_ENV = 'if [ -n "${MLTOOLBOX_FEATURES_ENV:-}" ] && [ -r "$MLTOOLBOX_FEATURES_ENV" ]; then . "$MLTOOLBOX_FEATURES_ENV"; fi';

/**
 * The ContainerManager of an instance that IS the container (a RunPod pod:
 * the provider started the image; there is no Docker inside to talk to).
 * The connect pipeline stays the same — sync, "ensure", lifecycle commands,
 * forwards, exec — but each step runs in the instance over the shared SSH
 * connection: the project folder is linked at the workdir, commands run
 * with `cd workdir`, and a port is forwarded straight to the instance.
 */
export interface InstanceContainerOptions {
  ssh: SshService;
  target: SshTarget;
  /** The instance's name (also the "container" name and id). */
  name: string;
  /** The image the provider created it from. */
  image: string;
  /**
   * The project's feature record in the instance (features/in-place.ts): its
   * `env` (the features' containerEnv) is sourced by every command started
   * here, its `metadata.json` is the features' `devcontainer.metadata`.
   */
  featuresDir?: string;
}

/** Set on the sessions started in a pod: /etc/profile.d/mltoolbox-features.sh sources it after /etc/profile resets PATH. */
export const FEATURES_ENV_VAR = 'MLTOOLBOX_FEATURES_ENV';

const LINK_SCRIPT = [
  'set -e',
  // $1: the synced project folder, $2: the workdir the config names.
  'mkdir -p "$(dirname "$2")"',
  'if [ "$1" != "$2" ] && { [ ! -e "$2" ] || [ -L "$2" ]; }; then ln -sfn "$1" "$2"; fi',
  'marker="$(dirname "$2")/.mltoolbox-created-$(basename "$2")"',
  'if [ -e "$marker" ]; then echo reused; else : > "$marker"; echo created; fi',
].join('\n');

export function createInstanceContainerManager(options: InstanceContainerOptions): ContainerManager {
  const { ssh, target, name, image } = options;
  const envFile = options.featuresDir ? `${options.featuresDir}/env` : '';
  // The features' containerEnv first (when the pod has it), then the command's own variables.
  const session = (env: Readonly<Record<string, string>> | undefined) => [
    ...(envFile ? [`${FEATURES_ENV_VAR}=${envFile}`] : []),
    ...Object.entries(env ?? {}).map(([key, value]) => `${key}=${value}`),
  ];
  const notHere = (what: string, hint: string) => new UserError('CONTAINER_SPEC_INVALID', `${name} is the container itself (the provider runs ${image}): ${what}`, hint);
  let workdir = '/workspace';

  const info = (): ContainerInfo => ({
    id: name, name, image, imageId: image, state: 'running', status: 'instance', project: undefined, configHash: image, labels: {},
    running: true, exitCode: 0, startedAt: '', finishedAt: '', ports: [], workdir, user: '', mounts: [], created: '',
  });

  /** The features' labels, as a features image would carry them (lifecycleFromLabels reads them for attach). */
  async function featureLabels(): Promise<Record<string, string>> {
    if (!options.featuresDir) return {};
    const result = await ssh.execScript(target, 'head -n1 "$1/record" 2>/dev/null && cat "$1/metadata.json" 2>/dev/null', { args: [options.featuresDir], check: false });
    const [record, ...metadata] = result.stdout.split('\n');
    return result.code === 0 && record && metadata.join('\n').trim() ? { [FEATURES_LABEL]: record.slice(0, 12), [METADATA_LABEL]: metadata.join('\n') } : {};
  }

  return {
    ping: async () => ({ version: 'instance', apiVersion: '-', runtimes: [], gpuReady: true }),
    build: async () => {
      throw notHere('it cannot build a Dockerfile', 'set environment.base_image to an image in a registry and provision a new instance from it');
    },
    pull: async () => ({ imageId: image }),
    imageId: async (reference) => (reference === image ? image : undefined),
    // The pod runs its image as given: there is no image store to read a configuration from.
    imageConfig: async () => undefined,
    importImage: async () => {
      throw notHere('it has no image store to import into', 'provision a VM instance (Lambda, Shadeform) to build or move images');
    },
    saveImage: async () => {
      throw notHere('it has no image store to save from', 'provision a VM instance (Lambda, Shadeform) to build or move images');
    },
    loadImage: async () => {
      throw notHere('it has no image store to load into', 'provision a VM instance (Lambda, Shadeform) to build or move images');
    },
    layerChains: async () => new Set<string>(),
    removeImage: async () => {},
    async ensureContainer(spec): Promise<EnsureResult> {
      if (spec.image !== image) {
        throw notHere(`the config now names ${spec.image}`, 'a pod keeps the image it was created with: provision a new instance for another image');
      }
      workdir = spec.workdir ?? workdir;
      const source = spec.mounts?.find((m) => m.target === workdir)?.source ?? workdir;
      const result = await ssh.execScript(target, LINK_SCRIPT, { args: [source, workdir] });
      const action = result.stdout.trim().split('\n').at(-1) === 'reused' ? 'reused' : 'created';
      const warnings = Object.keys(spec.env ?? {}).length + Object.keys(spec.secretEnv ?? {}).length > 0
        ? ['environment.env is not applied inside a pod after it is created; export the variables in your commands or provision a new instance']
        : [];
      return {
        id: name, name, action, configHash: image, warnings,
        // The instance's own ports: a forward goes straight to them.
        ports: (spec.ports ?? []).map((p) => ({ container: p.container, protocol: p.protocol ?? 'tcp', hostIp: '127.0.0.1', host: p.container })),
      };
    },
    async exec(_id, argv, execOptions = {}) {
      const env = session(execOptions.env);
      // The features' containerEnv first, then the command's own variables (they win), then the command.
      const result = await ssh.execScript(target, 'cd "$1" 2>/dev/null || cd; f=$2; shift 2; if [ -n "$f" ] && [ -r "$f" ]; then . "$f"; fi; while [ "$1" != -- ]; do export "$1"; shift; done; shift; exec "$@"', {
        args: [execOptions.workdir ?? workdir, envFile, ...env, '--', ...argv],
        check: false,
        ...(execOptions.stdin !== undefined ? { input: execOptions.stdin } : {}),
        ...(execOptions.signal ? { signal: execOptions.signal } : {}),
      });
      return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
    },
    // Run on the instance itself (the engine's host is the container): cd to the workdir, then the command.
    interactiveCommand: async (_id, argv, exec) => [
      // Variables first (an exec's MLTOOLBOX_EXEC_ID finds a run cut off by a lost connection).
      ...(session(exec.env).length ? ['env', ...session(exec.env)] : []),
      'sh', '-c', `cd "$0" 2>/dev/null || cd; ${envFile ? `${SOURCE_FEATURES_ENV}; ` : ''}exec "$@"`, exec.workdir ?? workdir, ...argv,
    ],
    startExec: async () => {
      throw notHere('no streaming exec', 'use mltoolbox shell or mltoolbox exec');
    },
    logs: async () => {
      throw notHere('there is no container log to read', 'your processes\' output is where you sent it; mltoolbox exec -- tail -f FILE');
    },
    // The instance is stopped and terminated as an instance (mltoolbox instances stop|terminate).
    stop: async () => {},
    remove: async () => {},
    inspect: async (id) => (id === name ? { ...info(), labels: await featureLabels() } : undefined),
    list: async () => [info()],
    // No engine to sample: the instance's own load is what `mlt status` shows on it.
    stats: async () => ({ cpuPercent: null, memoryBytes: null, memoryLimitBytes: null }),
  };
}
