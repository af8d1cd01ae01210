import { suggest } from '../../core/suggest.ts';
import { keyPathToString, type ConfigLayer, type KeyPath, type Origin } from './layer.ts';
import { isPlainObject, setOwn } from './merge.ts';

type ValueKind = 'string' | 'integer' | 'boolean' | 'gpu_count' | 'list';

/**
 * Every MLTOOLBOX_* variable that sets a config key. An explicit table, not a
 * naming rule: a variable does exactly what this table (and the docs) say.
 */
export const ENV_VAR_KEYS: Readonly<Record<string, { path: readonly string[]; kind: ValueKind }>> = {
  MLTOOLBOX_PROJECT_NAME: { path: ['project', 'name'], kind: 'string' },
  MLTOOLBOX_WORKDIR: { path: ['project', 'workdir'], kind: 'string' },
  MLTOOLBOX_BASE_IMAGE: { path: ['environment', 'base_image'], kind: 'string' },
  MLTOOLBOX_PROFILE: { path: ['environment', 'profile'], kind: 'string' },
  MLTOOLBOX_GPU_COUNT: { path: ['environment', 'gpu_count'], kind: 'gpu_count' },
  MLTOOLBOX_GPUS: { path: ['environment', 'gpus'], kind: 'string' },
  MLTOOLBOX_SHM_SIZE: { path: ['environment', 'shm_size'], kind: 'string' },
  MLTOOLBOX_NETWORK_MODE: { path: ['environment', 'network_mode'], kind: 'string' },
  MLTOOLBOX_SYNC_STRATEGY: { path: ['sync', 'strategy'], kind: 'string' },
  MLTOOLBOX_SYNC_WATCH: { path: ['sync', 'watch', 'enabled'], kind: 'boolean' },
  MLTOOLBOX_REMOTE_HOST: { path: ['remote', 'host'], kind: 'string' },
  MLTOOLBOX_REMOTE_USER: { path: ['remote', 'user'], kind: 'string' },
  MLTOOLBOX_REMOTE_PORT: { path: ['remote', 'port'], kind: 'integer' },
  MLTOOLBOX_REMOTE_IDENTITY_FILE: { path: ['remote', 'identity_file'], kind: 'string' },
  MLTOOLBOX_REMOTE_CONNECT_TIMEOUT: { path: ['remote', 'connect_timeout'], kind: 'integer' },
  MLTOOLBOX_PLUGINS: { path: ['plugins'], kind: 'list' },
  MLTOOLBOX_RELAY: { path: ['relay', 'url'], kind: 'string' },
};

/**
 * MLTOOLBOX_* variables that configure the tool itself (where files live, test
 * seams), not mltoolbox.yaml keys. They are not config keys, so they are
 * neither applied nor reported as typos.
 */
export const TOOL_ENV_VARS: readonly string[] = [
  'MLTOOLBOX_CONFIG_DIR', 'MLTOOLBOX_STATE_DIR', 'MLTOOLBOX_SYSTEM_CONFIG', 'MLTOOLBOX_SSH_CONFIG',
  'MLTOOLBOX_KNOWN_HOSTS', 'MLTOOLBOX_SECRET_STORE', 'MLTOOLBOX_SECRET_PASSPHRASE', 'MLTOOLBOX_NO_UPDATE_CHECK',
  'MLTOOLBOX_LOG_LEVEL', 'MLTOOLBOX_DOCKER_HOST', 'MLTOOLBOX_NO_DEPRECATION', 'MLTOOLBOX_SSH_PERSIST', 'MLTOOLBOX_DATA_DIR',
  'MLTOOLBOX_PLUGIN_TIMEOUT_MS', 'MLTOOLBOX_NO_PULL', 'MLTOOLBOX_CACHE_DIR', 'MLTOOLBOX_FAST_CHANNEL',
  'MLTOOLBOX_LAMBDA_URL', 'MLTOOLBOX_SHADEFORM_URL', 'MLTOOLBOX_RUNPOD_URL', 'MLTOOLBOX_PROVISION_POLL_MS',
  // Set inside the container on each `exec` (not read from your environment).
  'MLTOOLBOX_EXEC_ID',
  // Set on the sessions mltoolbox starts in a pod: the features' containerEnv file (docs/devcontainer.md).
  'MLTOOLBOX_FEATURES_ENV',
  // Set for hooks.* and initialize_command (not read as settings: a hook may run mltoolbox itself).
  'MLTOOLBOX_TARGET', 'MLTOOLBOX_PROJECT_DIR', 'MLTOOLBOX_REMOTE_DIR', 'MLTOOLBOX_CONTAINER',
  'MLTOOLBOX_AGENT_DIR',
  // The relay's Node flags (docs/relay.md#memory).
  'MLTOOLBOX_RELAY_NODE_FLAGS',
  // Set on an operation's worker process (docs/relay.md#operations), not read from your environment.
  'MLTOOLBOX_OPERATION_WORKER',
];

function parseValue(raw: string, kind: ValueKind): unknown {
  const trimmed = raw.trim();
  switch (kind) {
    case 'integer':
      // Not a number stays a string, so validation reports it with the variable's name.
      return /^-?\d+$/.test(trimmed) ? Number(trimmed) : raw;
    case 'gpu_count':
      return /^\d+$/.test(trimmed) ? Number(trimmed) : raw;
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(trimmed)) return true;
      if (/^(0|false|no|off)$/i.test(trimmed)) return false;
      return raw;
    case 'list':
      return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

/** Builds a layer from entries already in config shape; used for env vars and flags. */
export function layerFromEntries(kind: 'env' | 'flag', entries: readonly { path: KeyPath; value: unknown; name: string }[]): ConfigLayer {
  const value: Record<string, unknown> = {};
  const origins = new Map<string, Origin>();
  for (const entry of entries) {
    let node = value;
    for (const [index, part] of entry.path.entries()) {
      const key = String(part);
      if (index === entry.path.length - 1) {
        setOwn(node, key, entry.value);
      } else {
        if (!isPlainObject(node[key])) setOwn(node, key, {});
        node = node[key] as Record<string, unknown>;
      }
    }
    const origin: Origin = { kind, name: entry.name };
    origins.set(keyPathToString(entry.path), origin);
    if (Array.isArray(entry.value)) entry.value.forEach((_, i) => origins.set(keyPathToString([...entry.path, i]), origin));
  }
  return { kind, value, origins };
}

export interface EnvLayerResult {
  layer: ConfigLayer;
  /** MLTOOLBOX_* variables that match no key (probably typos). */
  warnings: string[];
}

export function envLayer(env: NodeJS.ProcessEnv): EnvLayerResult {
  const entries: { path: KeyPath; value: unknown; name: string }[] = [];
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('MLTOOLBOX_')) continue;
    const raw = env[name];
    const spec = ENV_VAR_KEYS[name];
    if (spec && raw !== undefined && raw !== '') {
      entries.push({ path: spec.path, value: parseValue(raw, spec.kind), name });
    } else if (!spec && !TOOL_ENV_VARS.includes(name)) {
      const guess = suggest(name, Object.keys(ENV_VAR_KEYS));
      if (guess) warnings.push(`${name} is not a mltoolbox setting; did you mean ${guess}?`);
    }
  }
  return { layer: layerFromEntries('env', entries), warnings };
}

/** A flag layer for commands: `flagLayer([{ path: ['remote', 'host'], value: 'gpu', name: '--host' }])`. */
export function flagLayer(entries: readonly { path: KeyPath; value: unknown; name: string }[]): ConfigLayer {
  return layerFromEntries('flag', entries.filter((e) => e.value !== undefined));
}
