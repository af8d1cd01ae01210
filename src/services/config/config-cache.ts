import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigLayer, Origin } from './layer.ts';
import type { LoadedConfig } from './loader.ts';
import { looksSensitive } from './profiles.ts';

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
 *   of its value, which is all the entry keeps of it; of a credential-looking
 *   one only whether it is set, and a load whose configuration holds such a
 *   value is not stored at all).
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

const FORMAT = 3;

/** A file as it was: what a later stat compares first (ino, size, times), and its content's hash. */
interface FileState {
  file: string;
  hash: string | null;
  stat?: [ino: number, size: number, mtimeMs: number, ctimeMs: number];
}

interface Entry {
  format: number;
  key: string;
  files: FileState[];
  env: { name: string; hash: string | null }[];
  loaded: Omit<LoadedConfig, 'origins'> & { origins: [string, Origin][] };
}

/**
 * node:crypto, loaded only when a file must be hashed (a miss, or a file whose
 * stat changed): loading it costs a warm command more than the rest of the check.
 */
const sha256 = (text: string) => (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(text).digest('hex');

/**
 * A fast non-cryptographic hash (two 53-bit cyrb53 runs) for the entry's file
 * name and key check and for the values of variables: change detection, not
 * secrecy (variables that look like credentials are never part of the key).
 */
function quickHash(text: string): string {
  const one = (seed: number) => {
    let h1 = 0xdeadbeef ^ seed;
    let h2 = 0x41c6ce57 ^ seed;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
  };
  return one(1) + one(2);
}

/**
 * The part of the key known before loading: what the request is and which build
 * answers it. MLTOOLBOX_SECRET_PASSPHRASE and the like (looksSensitive) are no
 * setting: never part of it, not even hashed.
 */
export function configCacheKey(buildId: string, request: ConfigCacheRequest): string {
  const mltoolboxVars = Object.keys(request.env).filter((name) => name.startsWith('MLTOOLBOX_') && !looksSensitive(name)).sort().map((name) => [name, request.env[name] ?? null]);
  return quickHash(JSON.stringify({
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

function statOf(file: string): FileState['stat'] {
  try {
    const info = statSync(file);
    return [info.ino, info.size, info.mtimeMs, info.ctimeMs];
  } catch {
    return undefined;
  }
}

/**
 * Whether a file is as the entry saw it. Same inode, size, mtime and ctime:
 * unchanged (git's index check: ctime moves on every write and nobody can set
 * it back; entries are never stored for a file written around its load). Else
 * its content decides (a `touch` alone is not a change).
 */
function unchanged(state: FileState): boolean {
  const now = statOf(state.file);
  if (!now) return state.hash === null;
  if (state.hash !== null && state.stat && now.every((value, i) => value === state.stat![i])) return true;
  return fileHash(state.file) === state.hash;
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

/**
 * What the entry keeps of a variable the load read: a hash of its value; for a
 * credential-looking name only whether it is set (such a value reaches the
 * configuration only verbatim, and a load where it does is never stored).
 */
const envState = (name: string, value: string | undefined): string | null => {
  if (value === undefined) return null;
  if (looksSensitive(name)) return value === '' ? 'empty' : 'set';
  return quickHash(value);
};

/** An entry as this build writes it; anything else (corrupt, foreign, older) is a miss. */
function wellFormed(entry: unknown, key: string): entry is Entry {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Partial<Entry>;
  return e.format === FORMAT && e.key === key && Array.isArray(e.files) && Array.isArray(e.env)
    && e.files.every((f) => typeof f?.file === 'string' && (f.hash === null || typeof f.hash === 'string') && (f.stat === undefined || (Array.isArray(f.stat) && f.stat.length === 4)))
    && e.env.every((v) => typeof v?.name === 'string')
    && typeof e.loaded === 'object' && e.loaded !== null && typeof e.loaded.config === 'object' && e.loaded.config !== null
    && Array.isArray(e.loaded.origins) && Array.isArray(e.loaded.files) && Array.isArray(e.loaded.warnings) && Array.isArray(e.loaded.secretRefs)
    && typeof e.loaded.projectSource === 'object' && e.loaded.projectSource !== null;
}

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
    let entry: unknown;
    try {
      entry = JSON.parse(readFileSync(entryFile(key), 'utf8'));
      if (!wellFormed(entry, key)) return undefined;
      return check(entry, request);
    } catch (error) {
      // A cache never fails a command: whatever goes wrong here, the load runs.
      debug(`config cache: entry not used (${(error as Error).message})`);
      return undefined;
    }
  }

  function check(entry: Entry, request: ConfigCacheRequest): LoadedConfig | undefined {
    const changedFile = entry.files.find((f) => !unchanged(f));
    if (changedFile) {
      debug(`config cache: ${changedFile.file} changed`);
      return undefined;
    }
    const changedVar = entry.env.find((v) => envState(v.name, request.env[v.name]) !== v.hash);
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
      files: loaded.files.map(({ file }) => {
        const stat = statOf(file);
        return { file, hash: fileHash(file), ...(stat ? { stat } : {}) };
      }),
      env: [...envReads].filter((name) => !name.startsWith('MLTOOLBOX_')).sort().map((name) => ({ name, hash: envState(name, request.env[name]) })),
      loaded: { ...loaded, origins: [...loaded.origins] },
    };
    // ${env:HF_TOKEN} under a name that is not redacted: the value would be in the file in plain text.
    const stored = JSON.stringify(entry.loaded);
    const credential = [...envReads].find((name) => {
      const value = request.env[name];
      return looksSensitive(name) && value !== undefined && value !== '' && stored.includes(JSON.stringify(value).slice(1, -1));
    });
    if (credential !== undefined) {
      debug(`config cache: not stored (the configuration holds the value of $${credential})`);
      return;
    }
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
