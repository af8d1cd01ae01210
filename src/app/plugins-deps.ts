import { join } from 'node:path';
import type { App } from './create-app.ts';
import type { PluginHostService } from '../orchestrators/plugins/plugin-host.ts';

/**
 * Wires the plugin host. The built-in plugins (src/plugins) and the host are
 * imported only now, so --help and commands without a config load neither.
 */
export async function createPlugins(app: App): Promise<PluginHostService> {
  const { createPluginHost } = await import('../orchestrators/plugins/plugin-host.ts');
  const { environment, paths } = app;
  const timeout = Number(environment.env.MLTOOLBOX_PLUGIN_TIMEOUT_MS);
  return createPluginHost({
    builtins: async () => (await import('../plugins/index.ts')).builtinPlugins,
    pluginsDir: join(paths.configDir, 'plugins'),
    projectDir: environment.projectDir,
    homeDir: paths.homeDir,
    env: environment.env,
    reporter: environment.reporter,
    // Read-only: plugins get lookups, never set/list/remove.
    secrets: async () => {
      const store = await app.secretStore();
      return { get: (name: string) => store.get(name) };
    },
    ...(Number.isInteger(timeout) && timeout > 0 ? { defaultTimeoutMs: timeout } : {}),
  });
}
