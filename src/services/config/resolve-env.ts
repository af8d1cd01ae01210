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
  const env: Record<string, string> = {};
  const envOrigins = new Map<string, Origin>();
  const sources = new Map<string, string>();
  const problems: EnvResolution['problems'] = [];
  const put = (name: string, value: string | number | boolean, origin: Origin | undefined) => {
    setOwn(env, name, String(value));
    if (origin) envOrigins.set(keyPathToString(['environment', 'env', name]), origin);
  };

  const profileName = config.environment?.profile;
  if (profileName !== undefined) {
    const userProfiles = config.profiles ?? {};
    const profile: ProfileDefinition | undefined = Object.hasOwn(userProfiles, profileName) ? userProfiles[profileName] : Object.hasOwn(BUILTIN_PROFILES, profileName) ? BUILTIN_PROFILES[profileName] : undefined;
    if (!profile) {
      const known = [...new Set([...Object.keys(BUILTIN_PROFILES), ...Object.keys(userProfiles)])].sort();
      const origin = originAt(origins, ['environment', 'profile']);
      problems.push({ code: 'PROFILE_UNKNOWN', problem: { message: `environment.profile: no profile named '${profileName}' (known: ${known.join(', ')})`, key: 'environment.profile', ...(origin ? { origin } : {}) } });
    } else {
      for (const name of profile.pass_through ?? []) {
        const value = localEnv[name];
        if (value !== undefined && value !== '') put(name, value, { kind: 'profile', name: `${profileName} ($${name})` });
      }
      for (const [name, value] of Object.entries(profile.env ?? {})) {
        put(name, value, originAt(origins, ['profiles', profileName, 'env', name]) ?? { kind: 'profile', name: profileName });
      }
    }
  }

  const envFile = config.environment?.env_file;
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
      problems.push({ code: 'ENV_FILE_UNREADABLE', problem: { message: `${keyPathToString(keyPath)}: cannot read ${path}: ${reason}`, key: keyPathToString(keyPath), ...(named ? { origin: named } : {}) } });
      continue;
    }
    sources.set(path, text);
    const parsed = parseDotenv(text);
    for (const error of parsed.errors) {
      problems.push({ code: 'ENV_FILE_UNREADABLE', problem: { message: error.message, origin: { kind: 'env-file', file: path, line: error.line, column: error.column } } });
    }
    for (const entry of parsed.entries) put(entry.name, entry.value, { kind: 'env-file', file: path, line: entry.line, column: entry.column });
  }

  for (const [name, value] of Object.entries(config.environment?.env ?? {})) {
    put(name, value, originAt(origins, ['environment', 'env', name]));
  }

  if (options.redact) {
    for (const name of Object.keys(env)) {
      if (looksSensitive(name) && !/^<secret:[^>]+>$/.test(env[name]!)) setOwn(env, name, '<redacted>');
    }
  }
  return { env, origins: envOrigins, sources, problems };
}
