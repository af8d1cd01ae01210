import { dirname, resolve } from 'node:path';
import { readConfigFile } from './config-text.ts';
import { parseDotenv } from './dotenv.ts';
import { keyPathToString, type Origin } from './layer.ts';
import { setOwn } from './merge.ts';
import type { ConfigProblem } from './problems.ts';
import { BUILTIN_PROFILES, looksSensitive, type ProfileDefinition } from './profiles.ts';
import type { MltoolboxConfig } from './schema.ts';
import { originAt } from './layer.ts';

export interface EnvResolution {
  env: Record<string, string>;
  /** Origins of environment.env.NAME entries. */
  origins: Map<string, Origin>;
  /** Texts of the dotenv files read, for snippets. */
  sources: Map<string, string>;
  problems: { code: 'ENV_FILE_UNREADABLE' | 'PROFILE_UNKNOWN'; problem: ConfigProblem }[];
}

/** What the steps below add to: the variables, their origins, and the problems found. */
interface EnvBuilder extends EnvResolution {
  put(name: string, value: string | number | boolean, origin: Origin | undefined): void;
}

/**
 * The container's variables, lowest to highest: the profile's, then each
 * env_file in order, then `environment.env`. Values become strings.
 */
export async function resolveContainerEnv(
  config: MltoolboxConfig,
  origins: ReadonlyMap<string, Origin>,
  localEnv: NodeJS.ProcessEnv,
  projectDir: string,
  options: { redact: boolean },
): Promise<EnvResolution> {
  const built: EnvBuilder = {
    env: {},
    origins: new Map(),
    sources: new Map(),
    problems: [],
    put(name, value, origin) {
      setOwn(this.env, name, String(value));
      if (origin) this.origins.set(keyPathToString(['environment', 'env', name]), origin);
    },
  };
  addProfile(built, config, origins, localEnv);
  await addEnvFiles(built, config.environment?.env_file, origins, projectDir);
  for (const [name, value] of Object.entries(config.environment?.env ?? {})) {
    built.put(name, value, originAt(origins, ['environment', 'env', name]));
  }
  if (options.redact) redactSensitive(built.env);
  return { env: built.env, origins: built.origins, sources: built.sources, problems: built.problems };
}

/** environment.profile: a user profile, else a built-in one; its pass-through variables and its fixed ones. */
function addProfile(built: EnvBuilder, config: MltoolboxConfig, origins: ReadonlyMap<string, Origin>, localEnv: NodeJS.ProcessEnv): void {
  const profileName = config.environment?.profile;
  if (profileName === undefined) return;
  const userProfiles = config.profiles ?? {};
  const profile = findProfile(userProfiles, profileName);
  if (!profile) {
    const known = [...new Set([...Object.keys(BUILTIN_PROFILES), ...Object.keys(userProfiles)])].sort();
    const origin = originAt(origins, ['environment', 'profile']);
    built.problems.push({ code: 'PROFILE_UNKNOWN', problem: { message: `environment.profile: no profile named '${profileName}' (known: ${known.join(', ')})`, key: 'environment.profile', ...(origin ? { origin } : {}) } });
    return;
  }
  addProfileVariables(built, profileName, profile, origins, localEnv);
}

/** A profile's variables: those passed through from this machine (when set and not empty), then its fixed ones. */
function addProfileVariables(built: EnvBuilder, profileName: string, profile: ProfileDefinition, origins: ReadonlyMap<string, Origin>, localEnv: NodeJS.ProcessEnv): void {
  for (const name of profile.pass_through ?? []) {
    const value = localEnv[name];
    if (value !== undefined && value !== '') built.put(name, value, { kind: 'profile', name: `${profileName} ($${name})` });
  }
  for (const [name, value] of Object.entries(profile.env ?? {})) {
    built.put(name, value, originAt(origins, ['profiles', profileName, 'env', name]) ?? { kind: 'profile', name: profileName });
  }
}

function findProfile(userProfiles: Record<string, ProfileDefinition>, name: string): ProfileDefinition | undefined {
  if (Object.hasOwn(userProfiles, name)) return userProfiles[name];
  return Object.hasOwn(BUILTIN_PROFILES, name) ? BUILTIN_PROFILES[name] : undefined;
}

/** Each environment.env_file, in order, relative to the file that names it. */
async function addEnvFiles(built: EnvBuilder, envFile: string | readonly string[] | undefined, origins: ReadonlyMap<string, Origin>, projectDir: string): Promise<void> {
  const files = envFile === undefined ? [] : typeof envFile === 'string' ? [envFile] : envFile;
  for (const [index, file] of files.entries()) {
    const keyPath = typeof envFile === 'string' ? ['environment', 'env_file'] : ['environment', 'env_file', index];
    const named = originAt(origins, keyPath);
    const path = resolve(named?.file ? dirname(named.file) : projectDir, file);
    let text: string;
    try {
      text = await readConfigFile(path, 'env-file');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      built.problems.push({ code: 'ENV_FILE_UNREADABLE', problem: { message: `${keyPathToString(keyPath)}: cannot read ${path}: ${reason}`, key: keyPathToString(keyPath), ...(named ? { origin: named } : {}) } });
      continue;
    }
    built.sources.set(path, text);
    addDotenv(built, path, text);
  }
}

function addDotenv(built: EnvBuilder, path: string, text: string): void {
  const parsed = parseDotenv(text);
  for (const error of parsed.errors) {
    built.problems.push({ code: 'ENV_FILE_UNREADABLE', problem: { message: error.message, origin: { kind: 'env-file', file: path, line: error.line, column: error.column } } });
  }
  for (const entry of parsed.entries) built.put(entry.name, entry.value, { kind: 'env-file', file: path, line: entry.line, column: entry.column });
}

/** `config show` never prints a value whose name looks like a credential (a ${secret:…} reference stays as is). */
function redactSensitive(env: Record<string, string>): void {
  for (const name of Object.keys(env)) {
    if (looksSensitive(name) && !/^<secret:[^>]+>$/.test(env[name]!)) setOwn(env, name, '<redacted>');
  }
}
