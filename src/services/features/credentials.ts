import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessRunner } from '../../infrastructure/process.ts';

/** A registry login: never logged, never put on a command line. */
export interface RegistryCredentials {
  username: string;
  password: string;
  /** Where it came from, for messages ("docker credential helper 'pass'", "GITHUB_TOKEN"). */
  source: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export interface CredentialOptions {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  runProcess: ProcessRunner;
}

const HELPER_TIMEOUT_MS = 15_000;

/** `https://ghcr.io/v1/` and `ghcr.io` name the same registry. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

/**
 * Credentials for a registry, as the docker CLI finds them: a credential
 * helper for that registry (credHelpers), the default store (credsStore),
 * an `auths` entry in $DOCKER_CONFIG/config.json (~/.docker/config.json);
 * then GITHUB_TOKEN for ghcr.io. Undefined: pull anonymously.
 */
export async function registryCredentials(registry: string, options: CredentialOptions): Promise<RegistryCredentials | undefined> {
  const configDir = options.env.DOCKER_CONFIG || join(options.homeDir, '.docker');
  const text = await readFile(join(configDir, 'config.json'), 'utf8').catch(() => undefined);
  let config: DockerConfigFile = {};
  if (text !== undefined) {
    try {
      config = JSON.parse(text) as DockerConfigFile;
    } catch {
      config = {};
    }
  }
  const host = hostOf(registry);
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => hostOf(key) === host)?.[1] ?? config.credsStore;
  if (helper && /^[A-Za-z0-9_.-]+$/.test(helper)) {
    const fromHelper = await fromCredentialHelper(helper, host, options);
    if (fromHelper) return fromHelper;
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOf(key) === host)?.[1];
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: `${join(configDir, 'config.json')} (auths)` };
  }
  if (entry?.username && entry.password) return { username: entry.username, password: entry.password, source: `${join(configDir, 'config.json')} (auths)` };
  if (host === 'ghcr.io' && options.env.GITHUB_TOKEN) {
    return { username: options.env.GITHUB_USER || 'mltoolbox', password: options.env.GITHUB_TOKEN, source: 'GITHUB_TOKEN' };
  }
  return undefined;
}

/** `docker-credential-NAME get` reads the server on stdin and prints {Username, Secret}. */
async function fromCredentialHelper(helper: string, host: string, options: CredentialOptions): Promise<RegistryCredentials | undefined> {
  for (const server of [host, `https://${host}`]) {
    const result = await options.runProcess(`docker-credential-${helper}`, ['get'], { input: server, timeoutMs: HELPER_TIMEOUT_MS, env: options.env })
      .catch(() => undefined);
    if (!result || result.code !== 0) continue;
    try {
      const parsed = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
      if (parsed.Secret) return { username: parsed.Username ?? '', password: parsed.Secret, source: `docker credential helper '${helper}'` };
    } catch {
      // A helper that answers with something else knows nothing useful.
    }
  }
  return undefined;
}
