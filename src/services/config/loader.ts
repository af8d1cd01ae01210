import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { withDefaultSignals } from '../../infrastructure/interrupt.ts';
import { readConfigFile } from './config-text.ts';
import { builtinDefaults, defaultsLayer, type BuiltinDefaults } from './defaults.ts';
import { envLayer } from './env-layer.ts';
import { interpolateTree, type SecretReference, type SecretResolver } from './interpolate.ts';
import type { ConfigLayer, Origin, OriginKind } from './layer.ts';
import { expandDevcontainerReference } from './devcontainer-reference.ts';
import { mergeLayers, setOwn, valueAt } from './merge.ts';
import { displayPath, problemsError, type ConfigProblem } from './problems.ts';
import { resolveContainerEnv } from './resolve-env.ts';
import { createConfigSchema, type MltoolboxConfig, type PluginSectionsSource } from './schema.ts';
import { issuesToProblems, sortProblems } from './validate.ts';
import { parseYamlLayer } from './yaml-layer.ts';

export const PROJECT_CONFIG_FILE = 'mltoolbox.yaml';
export const LOCAL_CONFIG_FILE = 'mltoolbox.local.yaml';
export const USER_CONFIG_FILE = 'config.yaml';

export interface ProjectConfigSourceOptions {
  env: NodeJS.ProcessEnv;
  /** `--devcontainer NAME` when a command passes it. */
  devcontainer?: string;
}

/**
 * Supplies the project layer when there is no mltoolbox.yaml: the detector
 * (detect.ts) reads .devcontainer/devcontainer.json or a Dockerfile and
 * returns a layer of kind 'devcontainer' or 'dockerfile'; undefined means
 * "nothing found, use the defaults".
 */
export type ProjectConfigSource = (projectDir: string, options: ProjectConfigSourceOptions) => Promise<ConfigLayer | DetectedProjectConfig | undefined>;

export interface DetectedProjectConfig {
  layer: ConfigLayer;
  /** "using .devcontainer/devcontainer.json", shown by config validate. */
  description?: string;
  /** Import warnings (settings dropped or partly kept). */
  warnings?: string[];
}

export interface LoadConfigOptions {
  projectDir: string;
  /** The local environment: MLTOOLBOX_* layer, ${env:…}, profiles. */
  env: NodeJS.ProcessEnv;
  paths: { configDir: string; systemConfigFile: string };
  /** The command-line layer (highest); build it with flagLayer(). */
  flags?: ConfigLayer;
  projectSource?: ProjectConfigSource;
  devcontainer?: string;
  secrets?: SecretResolver;
  /** 'redact' (config show/validate) never opens the secret store. Default: resolve. */
  mode?: 'resolve' | 'redact';
  pluginSections?: PluginSectionsSource;
}

/** Every file the loader looked at, in precedence order, and whether it was there. */
export interface ConfigFileStatus {
  kind: OriginKind;
  file: string;
  found: boolean;
}

export type ProjectSourceKind = 'mltoolbox.yaml' | 'devcontainer' | 'dockerfile' | 'defaults';

type Section<K extends keyof MltoolboxConfig> = NonNullable<MltoolboxConfig[K]>;
type Fill<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };

/**
 * The one configuration type every consumer reads: validated, with the
 * built-in defaults (defaults.ts) applied once by the loader, so a field
 * with a default is never optional here and nobody writes `?? '/workspace'`.
 * Only the image source (base_image | dockerfile) and settings without a
 * default stay optional.
 */
export type ResolvedConfig = Omit<MltoolboxConfig, 'project' | 'environment' | 'sync' | 'remote' | 'plugins'> & {
  project: Fill<Section<'project'>, 'name' | 'workdir'>;
  environment: Fill<Section<'environment'>, 'volumes' | 'ports' | 'gpu_count' | 'gpus' | 'shm_size' | 'image_transfer' | 'engine'> & { env: Record<string, string> };
  sync: Fill<Omit<Section<'sync'>, 'watch'>, 'exclude' | 'include_overrides' | 'respect_gitignore' | 'strategy'> & { watch: Fill<NonNullable<Section<'sync'>['watch']>, 'enabled' | 'debounce_ms'> };
  remote: Fill<Section<'remote'>, 'connect_timeout'>;
  plugins: Section<'plugins'>;
};

/** Applies the built-in defaults (the same values as the defaults layer) to a validated config: the one place they are applied. */
export function normalizeConfig(config: MltoolboxConfig, env: Record<string, string>, defaults: BuiltinDefaults): ResolvedConfig {
  const { environment = {}, sync = {}, remote = {}, project = {} } = config;
  const normalizedEnvironment = {
    ...environment,
    volumes: environment.volumes ?? defaults.environment.volumes,
    ports: environment.ports ?? defaults.environment.ports,
    gpu_count: environment.gpu_count ?? defaults.environment.gpu_count,
    gpus: environment.gpus ?? defaults.environment.gpus,
    shm_size: environment.shm_size ?? defaults.environment.shm_size,
    image_transfer: environment.image_transfer ?? defaults.environment.image_transfer,
    engine: environment.engine ?? defaults.environment.engine,
    env: {},
  };
  setOwn(normalizedEnvironment, 'env', env);
  return {
    ...config,
    project: { ...project, name: project.name ?? defaults.project.name, workdir: project.workdir ?? defaults.project.workdir },
    environment: normalizedEnvironment,
    sync: {
      ...sync,
      exclude: sync.exclude ?? defaults.sync.exclude,
      include_overrides: sync.include_overrides ?? defaults.sync.include_overrides,
      respect_gitignore: sync.respect_gitignore ?? defaults.sync.respect_gitignore,
      strategy: sync.strategy ?? defaults.sync.strategy,
      watch: { ...sync.watch, enabled: sync.watch?.enabled ?? defaults.sync.watch.enabled, debounce_ms: sync.watch?.debounce_ms ?? defaults.sync.watch.debounce_ms },
    },
    remote: { ...remote, connect_timeout: remote.connect_timeout ?? defaults.remote.connect_timeout },
    plugins: config.plugins ?? [],
  };
}

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Origin of every key path of `config`. */
  origins: Map<string, Origin>;
  files: ConfigFileStatus[];
  /** Where the project's settings came from (mltoolbox.yaml, devcontainer.json, a Dockerfile, nothing). */
  projectSource: { kind: ProjectSourceKind; file?: string; description: string };
  /** Things worth a warning line (e.g. a misspelt MLTOOLBOX_ variable). */
  warnings: string[];
  /** Which keys used which ${secret:…} (names only). */
  secretRefs: SecretReference[];
}

async function readOptional(file: string, kind: OriginKind): Promise<string | undefined> {
  try {
    return await readConfigFile(file, kind);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UserError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`,
      code === 'EISDIR' ? `${file} is a folder; it must be a YAML file` : `check the file's permissions (ls -l ${file})`,
      { cause: error, data: { file } });
  }
}

/**
 * Loads the configuration: reads every layer (defaults < system < user <
 * project < local < MLTOOLBOX_* env < flags), merges them keeping each
 * value's origin, expands ${…}, validates the result against the schema,
 * and resolves the container's variables (profile, env_file, env).
 * Every problem is reported at once, each with file:line:column.
 */
export function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  // Parsing and validating a huge file holds the thread: Ctrl-C must still end it at once.
  return withDefaultSignals(() => loadLayers(options));
}

async function loadLayers(options: LoadConfigOptions): Promise<LoadedConfig> {
  const { projectDir } = options;
  const files: ConfigFileStatus[] = [];
  const layers: ConfigLayer[] = [defaultsLayer(projectDir)];

  const addFile = async (kind: OriginKind, file: string): Promise<boolean> => {
    const text = await readOptional(file, kind);
    files.push({ kind, file, found: text !== undefined });
    if (text !== undefined) layers.push(parseYamlLayer(text, file, kind, projectDir));
    return text !== undefined;
  };

  await addFile('system', options.paths.systemConfigFile);
  await addFile('user', join(options.paths.configDir, USER_CONFIG_FILE));
  const projectFile = join(projectDir, PROJECT_CONFIG_FILE);
  let projectSource: LoadedConfig['projectSource'] = {
    kind: 'defaults',
    description: options.projectSource ? 'no mltoolbox.yaml, devcontainer.json or Dockerfile: using the defaults' : 'no mltoolbox.yaml: using the defaults',
  };
  const warnings: string[] = [];
  const useDetected = async (): Promise<boolean> => {
    const found = await options.projectSource?.(projectDir, { env: options.env, ...(options.devcontainer ? { devcontainer: options.devcontainer } : {}) });
    if (!found) return false;
    const detected = 'layer' in found && !('value' in found) ? found : { layer: found as ConfigLayer };
    const { layer } = detected;
    layers.push(layer);
    const kind = layer.kind === 'devcontainer' || layer.kind === 'dockerfile' ? layer.kind : 'mltoolbox.yaml';
    projectSource = { kind, ...(layer.file ? { file: layer.file } : {}), description: detected.description ?? `using ${layer.file ?? layer.kind}` };
    warnings.push(...(detected.warnings ?? []));
    if (layer.file) files.push({ kind: layer.kind, file: layer.file, found: true });
    return true;
  };
  // An explicit --devcontainer wins over mltoolbox.yaml; otherwise mltoolbox.yaml wins over detection.
  if (options.devcontainer && options.projectSource && (await useDetected())) {
    files.push({ kind: 'project', file: projectFile, found: false });
  } else if (await addFile('project', projectFile)) {
    projectSource = { kind: 'mltoolbox.yaml', file: projectFile, description: `using ${PROJECT_CONFIG_FILE}` };
  } else {
    await useDetected();
  }
  await addFile('local', join(projectDir, LOCAL_CONFIG_FILE));
  const fromEnv = envLayer(options.env);
  layers.push(fromEnv.layer);
  if (options.flags) layers.push(options.flags);

  let merged = mergeLayers(layers);
  // environment.devcontainer: PATH — that file's settings, mapped as auto-detection maps them.
  const referenced = await expandDevcontainerReference(layers, valueAt(merged.value, ['environment', 'devcontainer']), { projectDir, env: options.env });
  if (referenced) {
    layers.splice(0, layers.length, ...referenced.layers);
    merged = mergeLayers(layers);
    files.push({ kind: 'devcontainer', file: referenced.file, found: true });
    warnings.push(...referenced.warnings);
    projectSource = { ...projectSource, description: `${projectSource.description} with ${displayPath(referenced.file, projectDir)}` };
  }
  const sources = new Map<string, string>();
  for (const layer of layers) if (layer.file && layer.source !== undefined) sources.set(layer.file, layer.source);

  const interpolated = await interpolateTree(merged.value, merged.origins, {
    env: options.env,
    mode: options.mode ?? 'resolve',
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });

  // A secret may only become a container variable. Anywhere else it would end up
  // on a command line (lifecycle commands run as `sh -c …`, visible in `ps`) or
  // in the image history (build args). Checked before validation, so no problem
  // message can ever quote a resolved secret.
  const misplaced = interpolated.secretRefs.filter((ref) => !/^environment\.env\.[^.[\]]+$/.test(ref.key));
  if (misplaced.length > 0) {
    const problems = misplaced.map((ref): ConfigProblem => {
      const origin = merged.origins.get(ref.key);
      return {
        message: `${ref.key}: \${secret:${ref.name}} is only allowed in environment.env — here it would be visible on a command line or in the image history`,
        key: ref.key,
        ...(origin ? { origin } : {}),
      };
    });
    throw problemsError('CONFIG_INVALID', 'a secret is used where it would leak', 'put it in environment.env.NAME: ${secret:…} and refer to $NAME in the command; build steps should read secrets at run time, not as build args', problems, sources, projectDir);
  }

  const sections = typeof options.pluginSections === 'function'
    ? await options.pluginSections(interpolated.value as Record<string, unknown>, { origins: merged.origins })
    : options.pluginSections ?? {};
  const schema = createConfigSchema(sections);
  const parsed = schema.safeParse(interpolated.value);
  if (!parsed.success) {
    const problems = sortProblems([...issuesToProblems(parsed.error.issues, { ...merged, value: interpolated.value }, schema), ...interpolated.problems]);
    throw problemsError('CONFIG_INVALID', 'the configuration is invalid', 'fix each key listed above; `mltoolbox config schema` prints every allowed key', problems, sources, projectDir);
  }
  if (interpolated.problems.length > 0) {
    throw problemsError('INTERPOLATION_FAILED', 'cannot expand ${…} in the configuration', 'set the missing variables or secrets, or give a default: ${env:NAME:-default}', interpolated.problems, sources, projectDir);
  }

  const config = parsed.data as MltoolboxConfig;
  const resolvedEnv = await resolveContainerEnv(config, merged.origins, options.env, projectDir, { redact: (options.mode ?? 'resolve') === 'redact' });
  // env_file texts are never quoted in error snippets: their lines hold tokens.
  for (const code of ['PROFILE_UNKNOWN', 'ENV_FILE_UNREADABLE'] as const) {
    const problems: ConfigProblem[] = resolvedEnv.problems.filter((p) => p.code === code).map((p) => p.problem);
    if (problems.length === 0) continue;
    throw code === 'PROFILE_UNKNOWN'
      ? problemsError(code, 'unknown profile', 'use ml-research or define the profile under `profiles:` in your user config', problems, sources, projectDir)
      : problemsError(code, 'cannot use environment.env_file', 'fix the path (relative to the config file that names it) or the line shown', problems, sources, projectDir);
  }

  const origins = new Map(merged.origins);
  for (const key of [...origins.keys()]) if (key.startsWith('environment.env.')) origins.delete(key);
  for (const [key, origin] of resolvedEnv.origins) origins.set(key, origin);
  if (!origins.has('environment.env')) origins.set('environment.env', { kind: 'default' });

  return {
    config: normalizeConfig(config, resolvedEnv.env, builtinDefaults(projectDir)),
    origins,
    files,
    projectSource,
    warnings: [...warnings, ...fromEnv.warnings],
    secretRefs: interpolated.secretRefs,
  };
}

