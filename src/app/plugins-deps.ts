import { join } from 'node:path';
import type { App } from './create-app.ts';
import type { PluginHostService } from '../orchestrators/plugins/plugin-host.ts';
import type { PluginCommandRun } from '../orchestrators/plugins/run-command.ts';

/** Plugins get lookups, never set/list/remove. */
function readOnlySecrets(app: App) {
  return async () => {
    const store = await app.secretStore();
    return { get: (name: string) => store.get(name) };
  };
}

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
    secrets: readOnlySecrets(app),
    ...(Number.isInteger(timeout) && timeout > 0 ? { defaultTimeoutMs: timeout } : {}),
  });
}

/** `plugins run`, over the project's config, state and connection. */
export interface PluginCommands {
  run(words: readonly string[], rest: readonly string[]): Promise<PluginCommandRun>;
}

export async function createPluginCommands(app: App): Promise<PluginCommands> {
  const { runProjectPluginCommand } = await import('../orchestrators/plugins/run-command.ts');
  const deps = {
    plugins: () => app.plugins(),
    loadConfig: async () => (await app.config()).load({ mode: 'resolve' }),
    state: () => app.state(),
    connection: () => app.connection(),
    env: app.environment.env,
    projectDir: app.environment.projectDir,
    secrets: readOnlySecrets(app),
  };
  return { run: (words, rest) => runProjectPluginCommand(deps, words, rest) };
}
