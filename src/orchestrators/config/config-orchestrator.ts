import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { SecretResolver } from '../../services/config/interpolate.ts';
import { keyPathToString, originAt, type ConfigLayer, type KeyPath, type Origin } from '../../services/config/layer.ts';
import { recordEnvReads, type ConfigCache } from '../../services/config/config-cache.ts';
import type { ConfigFileStatus, LoadedConfig, ProjectConfigSource } from '../../services/config/loader.ts';
import { isUnder, valueAt } from '../../services/config/merge.ts';
import { displayOrigin, displayPath } from '../../services/config/problems.ts';
import type { PluginSections, PluginSectionsSource } from '../../services/config/schema.ts';
import type { FeatureView } from '../features/features-step.ts';

export interface ConfigOrchestratorDeps {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  paths: { configDir: string; systemConfigFile: string; homeDir: string };
  reporter: Reporter;
  projectSource?: ProjectConfigSource;
  /** Opened only when a command needs real secret values (mode 'resolve'). */
  secrets?: () => Promise<SecretResolver>;
  pluginSections?: PluginSectionsSource;
  /** Lists the configured Dev Container Features (from the client cache, never the network). */
  describeFeatures?: (loaded: LoadedConfig) => Promise<FeatureView[]>;
  /** Validated configurations of earlier runs (services/config/config-cache.ts); unset: always load. */
  cache?: ConfigCache;
}

export interface LoadOptions {
  flags?: ConfigLayer;
  devcontainer?: string;
  mode?: 'resolve' | 'redact';
}

export interface OriginView {
  kind: Origin['kind'];
  /** `mltoolbox.yaml:3:9`, `env MLTOOLBOX_REMOTE_HOST`, `default`. */
  where: string;
  file?: string;
  line?: number;
  column?: number;
  name?: string;
}

export interface ConfigEntry {
  key: string;
  value: unknown;
  origin: OriginView;
}

export interface ValidateResult {
  valid: true;
  projectSource: LoadedConfig['projectSource'];
  files: ConfigFileStatus[];
  envVars: string[];
  warnings: string[];
}

export interface ShowResult {
  key?: string;
  config: unknown;
  origins: Record<string, OriginView>;
  entries: ConfigEntry[];
  projectSource: LoadedConfig['projectSource'];
  files: ConfigFileStatus[];
  /** Dev Container Features with their resolved options (installation order when all are known). */
  features?: FeatureView[];
}

/** `environment.ports[0]` -> ['environment', 'ports', 0] */
export function parseKey(key: string): KeyPath {
  const path: (string | number)[] = [];
  for (const match of key.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) path.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  return path;
}


/** Leaves of the config (scalars, empty lists and maps) with their key paths. */
export function flatten(value: unknown, path: KeyPath = []): { path: KeyPath; value: unknown }[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [{ path, value }];
    return value.flatMap((item, i) => flatten(item, [...path, i]));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && path.length > 0) return [{ path, value }];
    return entries.flatMap(([k, v]) => flatten(v, [...path, k]));
  }
  return [{ path, value }];
}

/** Use-cases behind `config validate|show|schema`, and the loader other commands call. */
export function createConfigOrchestrator(deps: ConfigOrchestratorDeps) {
  // The loader and the schema (YAML and zod: most of a warm command's start-up) load only when used: a cache hit needs neither.
  const schemaModule = () => import('../../services/config/schema.ts');
  const schema = async () => {
    const { configSchema, createConfigSchema } = await schemaModule();
    return deps.pluginSections && typeof deps.pluginSections !== 'function' ? createConfigSchema(deps.pluginSections) : configSchema;
  };

  const originView = (origin: Origin | undefined): OriginView => {
    const o = origin ?? { kind: 'default' as const };
    return {
      kind: o.kind,
      where: shortenHome(displayOrigin(o, deps.projectDir), deps.paths.homeDir),
      ...(o.file ? { file: o.file } : {}),
      ...(o.line ? { line: o.line, column: o.column ?? 1 } : {}),
      ...(o.name ? { name: o.name } : {}),
    };
  };


  async function load(options: LoadOptions = {}): Promise<LoadedConfig> {
    const mode = options.mode ?? 'resolve';
    const request = {
      projectDir: deps.projectDir, env: deps.env, paths: deps.paths, mode,
      ...(options.flags ? { flags: options.flags } : {}),
      ...(options.devcontainer ? { devcontainer: options.devcontainer } : {}),
    };
    const cached = deps.cache?.read(request);
    if (cached) {
      for (const warning of cached.warnings) deps.reporter.warn(warning);
      return cached;
    }
    const startedAt = Date.now();
    const envReads = new Set<string>();
    const { loadConfig } = await import('../../services/config/loader.ts');
    const loaded = await loadConfig({
      projectDir: deps.projectDir,
      env: deps.cache ? recordEnvReads(deps.env, envReads) : deps.env,
      paths: deps.paths,
      mode,
      ...(options.flags ? { flags: options.flags } : {}),
      ...(options.devcontainer ? { devcontainer: options.devcontainer } : {}),
      ...(deps.projectSource ? { projectSource: deps.projectSource } : {}),
      ...(mode === 'resolve' && deps.secrets ? { secrets: lazyResolver(deps.secrets) } : {}),
      ...(deps.pluginSections ? { pluginSections: deps.pluginSections } : {}),
    });
    for (const warning of loaded.warnings) deps.reporter.warn(warning);
    deps.reporter.debug(`config: ${loaded.projectSource.description}`);
    deps.cache?.write(request, loaded, envReads, startedAt);
    return loaded;
  }

  async function validate(options: LoadOptions = {}): Promise<ValidateResult> {
    // Never reads secret values: validation must not unlock a store or print one.
    const loaded = await load({ ...options, mode: 'redact' });
    const envVars = [...new Set([...loaded.origins.values()].filter((o) => o.kind === 'env' && o.name).map((o) => o.name!))].sort();
    return { valid: true, projectSource: loaded.projectSource, files: loaded.files, envVars, warnings: loaded.warnings };
  }

  async function show(options: LoadOptions & { key?: string } = {}): Promise<ShowResult> {
    const loaded = await load({ ...options, mode: 'redact' });
    const all = flatten(loaded.config).map(({ path, value }) => {
      const key = keyPathToString(path);
      return { key, value, origin: originView(originAt(loaded.origins, path)) };
    });
    let entries = all;
    let config: unknown = loaded.config;
    if (options.key !== undefined) {
      const path = parseKey(options.key);
      const key = keyPathToString(path);
      entries = all.filter((e) => isUnder(e.key, key));
      config = valueAt(loaded.config, path);
      if (entries.length === 0 && !(await isKnownKey(path))) {
        const { suggestKey } = await import('../../services/config/validate.ts');
        const guess = suggestKey(key, [...new Set(all.flatMap((e) => prefixes(e.key)))]);
        throw new UserError('CONFIG_KEY_UNKNOWN', `no config key '${options.key}'`,
          guess ? `did you mean '${guess}'? Run 'mltoolbox config show' for every key` : `run 'mltoolbox config show' for every key`,
          { data: { key: options.key } });
      }
    }
    const origins: Record<string, OriginView> = {};
    for (const entry of entries) origins[entry.key] = entry.origin;
    const features = deps.describeFeatures && (options.key === undefined || isUnder('environment.features', keyPathToString(parseKey(options.key))))
      ? await deps.describeFeatures(loaded)
      : [];
    return {
      ...(features.length > 0 ? { features } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      config: config ?? null,
      origins,
      entries,
      projectSource: loaded.projectSource,
      files: loaded.files,
    };
  }

  /** A key the schema allows (so "not set" rather than "unknown"). */
  async function isKnownKey(path: KeyPath): Promise<boolean> {
    if (path.length === 0) return true;
    const last = path[path.length - 1]!;
    const parent = path.slice(0, -1);
    if (typeof last === 'number') return true;
    const { allowedKeysAt } = await import('../../services/config/validate.ts');
    if (allowedKeysAt(await schema(), parent).includes(last)) return true;
    // Maps with free keys: environment.env.NAME, profiles.NAME, dockerfile.args.NAME.
    const parentKey = keyPathToString(parent);
    return /^(environment\.env|environment\.dockerfile\.args|profiles(\.[^.]+\.env)?)$/.test(parentKey);
  }

  return {
    load,
    validate,
    show,
    /** The JSON Schema; `sections` adds plugin sections (the CLI passes every available plugin's). */
    schema: async (sections?: PluginSections) => {
      const { configJsonSchema, createConfigSchema } = await schemaModule();
      return configJsonSchema(sections ? createConfigSchema(sections) : await schema());
    },
    /** A file path as validate/show print it. */
    display: (file: string) => shortenHome(displayPath(file, deps.projectDir), deps.paths.homeDir),
  };
}

export type ConfigOrchestrator = ReturnType<typeof createConfigOrchestrator>;

function prefixes(key: string): string[] {
  const out: string[] = [];
  for (const match of key.matchAll(/[.[]/g)) out.push(key.slice(0, match.index));
  out.push(key);
  return out;
}

function shortenHome(text: string, home: string): string {
  return home && home !== '/' && text.startsWith(`${home}/`) ? `~${text.slice(home.length)}` : text;
}

function lazyResolver(open: () => Promise<SecretResolver>): SecretResolver {
  let resolver: Promise<SecretResolver> | undefined;
  return {
    get: async (name) => (await (resolver ??= open())).get(name),
  };
}
