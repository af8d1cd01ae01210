import { UserError } from '../../core/errors.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';

const SECRET_REFERENCE = /^\$\{secret:([A-Za-z0-9][A-Za-z0-9_.-]{0,127})\}$/;

/**
 * The loader resolves the user's `${secret:…}` values before plugins run, so
 * any reference still in environment.env was added by a configLoaded hook
 * (e.g. wandb adding WANDB_API_KEY). Resolve those the same way: the value
 * joins secretRefs, so it travels only as secret env, never as a plain one.
 */
export async function resolvePluginSecretRefs(loaded: LoadedConfig, getSecret: (name: string) => Promise<string | undefined>): Promise<LoadedConfig> {
  const env = loaded.config.environment.env;
  const pending = Object.entries(env).flatMap(([key, value]) => {
    const match = typeof value === 'string' ? SECRET_REFERENCE.exec(value) : null;
    return match ? [{ key, name: match[1]! }] : [];
  });
  if (pending.length === 0) return loaded;
  const resolved: Record<string, string> = { ...env };
  for (const { key, name } of pending) {
    const value = await getSecret(name);
    if (value === undefined) {
      throw new UserError('SECRET_NOT_FOUND', `a plugin set environment.env.${key} to \${secret:${name}}, and there is no secret ${name}`,
        `store it: mltoolbox secret set ${name} (or disable the plugin in mltoolbox.yaml)`);
    }
    resolved[key] = value;
  }
  return {
    ...loaded,
    config: { ...loaded.config, environment: { ...loaded.config.environment, env: resolved } },
    secretRefs: [...loaded.secretRefs, ...pending.map(({ key, name }) => ({ key: `environment.env.${key}`, name }))],
  };
}
