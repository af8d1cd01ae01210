import { UserError } from '../core/errors.ts';
import { lambdaBackend } from './lambda.ts';
import { runpodBackend } from './runpod.ts';
import { shadeformBackend } from './shadeform.ts';
import type { PluginBackend } from '../plugin-api/index.ts';
import type { BackendDefinition } from './types.ts';

/**
 * The backends mltoolbox knows: the three built in, plus any a plugin
 * registers. Built by the app factory (no module-level state).
 */
export interface BackendRegistry {
  get(name: string): BackendDefinition;
  has(name: string): boolean;
  list(): BackendDefinition[];
  register(definition: BackendDefinition): void;
}

export const BUILTIN_BACKENDS: readonly BackendDefinition[] = [lambdaBackend, shadeformBackend, runpodBackend];

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function createBackendRegistry(definitions: readonly BackendDefinition[] = BUILTIN_BACKENDS): BackendRegistry {
  const byName = new Map<string, BackendDefinition>();
  const registry: BackendRegistry = {
    get(name) {
      const found = byName.get(name);
      if (!found) {
        throw new UserError('BACKEND_UNKNOWN', `unknown provisioning backend '${name}'`, `use one of: ${[...byName.keys()].join(', ')}`);
      }
      return found;
    },
    has: (name) => byName.has(name),
    list: () => [...byName.values()],
    register(definition) {
      if (!NAME.test(definition.name)) throw new UserError('BACKEND_UNKNOWN', `'${definition.name}' is not a valid backend name`, 'use lowercase letters, digits and -');
      if (byName.has(definition.name)) throw new UserError('BACKEND_UNKNOWN', `a backend named '${definition.name}' is already registered`, 'give the plugin\'s backend another name');
      byName.set(definition.name, definition);
    },
  };
  for (const definition of definitions) registry.register(definition);
  return registry;
}

/** The base URL: the environment variable, then the config, then the provider's. */
export function backendBaseUrl(definition: BackendDefinition, env: NodeJS.ProcessEnv, configured?: string): string {
  const url = env[definition.baseUrlEnv] || configured || definition.defaultBaseUrl;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError('USAGE', `'${url}' is not a URL (base URL of ${definition.name})`, `give an http(s) URL, e.g. ${definition.defaultBaseUrl}`);
  }
  // An API key travels in every request: never in clear text, except to this machine.
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new UserError('USAGE', `refusing ${url} for ${definition.name}: the API key would travel unencrypted`, 'use an https:// URL (http is allowed for 127.0.0.1 and localhost only)');
  }
  return url;
}

/** A plugin's backend (plugin API 1.2) as a definition; its base URL env defaults to MLTOOLBOX_<NAME>_URL. */
export function pluginBackendDefinition(backend: PluginBackend): BackendDefinition {
  return {
    name: backend.name,
    title: backend.title,
    defaultBaseUrl: backend.defaultBaseUrl,
    baseUrlEnv: backend.baseUrlEnv ?? `MLTOOLBOX_${backend.name.toUpperCase().replace(/-/g, '_')}_URL`,
    capabilities: backend.capabilities,
    create: (options) => backend.create({ apiKey: options.apiKey, baseUrl: options.baseUrl, ...(options.debug ? { debug: options.debug } : {}) }),
  };
}

export type { BackendDefinition, ProvisioningBackend } from './types.ts';
