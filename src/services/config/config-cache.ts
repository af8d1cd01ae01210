import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigLayer, Origin } from './layer.ts';
import type { LoadedConfig } from './loader.ts';

/**
 * A cache of validated configurations, so a warm command (exec, status,
 * config show) skips parsing YAML and building the schema — most of a
 * command's own start-up. Deliberately narrow, so it is never wrong:
 *
 * - Only the redacted view (mode 'redact': what `config show` prints; no
 *   `${secret:…}` value and no credential-looking variable is ever in it), of
 *   a project with a mltoolbox.yaml, without environment.env_file, a
 *   devcontainer.json reference or enabled plugins. Anything else loads as
 *   before, every time.
 * - The key: the build of mltoolbox (version + its bundle file), the project
 *   folder, mode, the command's flag layer, `--devcontainer`, the config paths,
 *   and every MLTOOLBOX_* variable.
 * - Checked on every hit: the content of every layer file (and that absent
 *   ones are still absent), and every other variable the load read (by a hash
 *   of its value, which is all the entry keeps of it).
 *
 * Entries are written atomically (temp file + rename, 0600, in a 0700 folder);
 * an unreadable or foreign entry is a miss, never an error.
 */
export interface ConfigCacheRequest {
  projectDir: string;
  mode: 'resolve' | 'redact';
  env: NodeJS.ProcessEnv;
  paths: { configDir: string; systemConfigFile: string };
  flags?: ConfigLayer;
  devcontainer?: string;
}

export interface ConfigCache {
  /** The cached load for this request if every input is unchanged, else undefined. */
  read(request: ConfigCacheRequest): LoadedConfig | undefined;
  /**
   * Stores a load (if it qualifies); `envReads` are the variables the load read
   * (recordEnvReads), `startedAt` when it began (Date.now()).
   */
  write(request: ConfigCacheRequest, loaded: LoadedConfig, envReads: ReadonlySet<string>, startedAt: number): void;
}

const FORMAT = 1;

interface Entry {
  format: number;
  key: string;
  files: { file: string; hash: string | null }[];
  env: { name: string; hash: string | null }[];
  loaded: Omit<LoadedConfig, 'origins'> & { origins: [string, Origin][] };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The part of the key known before loading: what the request is and which build answers it. */
export function configCacheKey(buildId: string, request: ConfigCacheRequest): string {
  const mltoolboxVars = Object.keys(request.env).filter((name) => name.startsWith('MLTOOLBOX_')).sort().map((name) => [name, request.env[name] ?? null]);
  return sha256(JSON.stringify({
    format: FORMAT,
    buildId,
    projectDir: request.projectDir,
    mode: request.mode,
    paths: [request.paths.configDir, request.paths.systemConfigFile],
    flags: request.flags ? [request.flags.value, [...request.flags.origins]] : null,
    devcontainer: request.devcontainer ?? null,
    mltoolboxVars,
  }));
}

function fileHash(file: string): string | null {
  try {
    return sha256(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** A file modified this close to a load may have changed while it was read (mtime granularity). */
const RACY_MS = 2000;

function modifiedSince(file: string, since: number): boolean {
  try {
    return statSync(file).mtimeMs >= since;
  } catch {
    return false;
  }
}

const envHash = (value: string | undefined) => (value === undefined ? null : sha256(value));

/** Why a load is not stored (undefined: it may be). */
export function uncacheableReason(request: ConfigCacheRequest, loaded: LoadedConfig): string | undefined {
  if (request.mode !== 'redact') return 'resolved (not redacted) configurations are never stored';
  if (loaded.projectSource.kind !== 'mltoolbox.yaml') return `the project's settings come from ${loaded.projectSource.kind}`;
  if (loaded.files.some((f) => f.kind === 'devcontainer')) return 'environment.devcontainer names a file';
  if (loaded.config.environment.env_file !== undefined) return 'environment.env_file is set';
  if (loaded.config.plugins.length > 0) return 'plugins are enabled';
  return undefined;
}

/**
 * The process environment, watched: every name the loader reads (get or in)
 * is added to `reads`. Enumeration (Object.keys) is not recorded: the loader
 * enumerates only to find MLTOOLBOX_* names, which are all in the key.
 */
export function recordEnvReads(env: NodeJS.ProcessEnv, reads: Set<string>): NodeJS.ProcessEnv {
  return new Proxy(env, {
    get(target, name, receiver) {
      if (typeof name === 'string') reads.add(name);
      return Reflect.get(target, name, receiver);
    },
    has(target, name) {
      if (typeof name === 'string') reads.add(name);
      return Reflect.has(target, name);
    },
  });
}

export function createConfigCache(options: { dir: string; buildId: string; debug?: (message: string) => void }): ConfigCache {
  const debug = options.debug ?? (() => {});
  const entryFile = (key: string) => join(options.dir, `${key.slice(0, 32)}.json`);

  function read(request: ConfigCacheRequest): LoadedConfig | undefined {
    const key = configCacheKey(options.buildId, request);
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(entryFile(key), 'utf8')) as Entry;
    } catch {
      return undefined;
    }
    if (entry?.format !== FORMAT || entry.key !== key || !Array.isArray(entry.files) || !Array.isArray(entry.env)) return undefined;
    const changedFile = entry.files.find((f) => fileHash(f.file) !== f.hash);
    if (changedFile) {
      debug(`config cache: ${changedFile.file} changed`);
      return undefined;
    }
    const changedVar = entry.env.find((v) => envHash(request.env[v.name]) !== v.hash);
    if (changedVar) {
      debug(`config cache: $${changedVar.name} changed`);
      return undefined;
    }
    debug('config cache: hit');
    return { ...entry.loaded, origins: new Map(entry.loaded.origins) };
  }

  function write(request: ConfigCacheRequest, loaded: LoadedConfig, envReads: ReadonlySet<string>, startedAt: number): void {
    const reason = uncacheableReason(request, loaded);
    if (reason) {
      debug(`config cache: not stored (${reason})`);
      return;
    }
    const key = configCacheKey(options.buildId, request);
    const entry: Entry = {
      format: FORMAT,
      key,
      files: loaded.files.map(({ file }) => ({ file, hash: fileHash(file) })),
      env: [...envReads].filter((name) => !name.startsWith('MLTOOLBOX_')).sort().map((name) => ({ name, hash: envHash(request.env[name]) })),
      loaded: { ...loaded, origins: [...loaded.origins] },
    };
    // A file the load saw as found that is gone now (or the other way round), or one written around the
    // load (its content may not be what was read; mtimes are coarse), changed under us: store nothing.
    if (entry.files.some((f, i) => (f.hash !== null) !== loaded.files[i]!.found || modifiedSince(f.file, startedAt - RACY_MS))) {
      debug('config cache: not stored (a config file changed while it was read)');
      return;
    }
    const file = entryFile(key);
    const temp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
      renameSync(temp, file);
    } catch (error) {
      rmSync(temp, { force: true });
      debug(`config cache: not stored (${(error as Error).message})`);
    }
  }

  return { read, write };
}
