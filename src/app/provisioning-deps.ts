import type { App } from './create-app.ts';
import type { ProvisioningOrchestrator } from '../orchestrators/provisioning/provisioning-orchestrator.ts';

/**
 * Wires provisioning: the backend registry (the three built in), the secret
 * store for API keys, the state ledger, SSH for the first contact, and the
 * plugins' provisionComplete and notify hooks. Imported only by the
 * provisioning commands.
 */
export async function createProvisioning(app: App): Promise<ProvisioningOrchestrator> {
  const [{ createProvisioningOrchestrator }, { createBackendRegistry, pluginBackendDefinition }] = await Promise.all([
    import('../orchestrators/provisioning/provisioning-orchestrator.ts'),
    import('../backends/registry.ts'),
  ]);
  const { environment, paths } = app;
  const projectScope = async () => {
    const loaded = await (await app.config()).load({ mode: 'redact' });
    const config = loaded.config as unknown as Record<string, unknown>;
    return {
      command: environment.command ?? 'provision',
      config,
      project: { name: loaded.config.project.name, localDir: environment.projectDir, workdir: loaded.config.project.workdir },
    };
  };
  const activePlugins = async () => {
    const host = await app.plugins();
    return host.active().length > 0 ? host : undefined;
  };
  const registry = createBackendRegistry();
  /** After the config is loaded (it names the plugins): the enabled plugins' backends join the built-in ones. */
  const addPluginBackends = async () => {
    for (const { plugin } of (await app.plugins()).active()) {
      for (const backend of plugin.backends ?? []) {
        if (registry.has(backend.name)) continue;
        try {
          registry.register(pluginBackendDefinition(backend));
        } catch (error) {
          environment.reporter.warn(`plugin ${plugin.name}: backend ${backend.name} skipped: ${(error as Error).message}`);
        }
      }
    }
  };
  return createProvisioningOrchestrator({
    env: environment.env,
    homeDir: paths.homeDir,
    dataDir: paths.dataDir,
    projectDir: environment.projectDir,
    reporter: environment.reporter,
    registry,
    secrets: () => app.secretStore(),
    state: () => app.state(),
    ssh: () => app.ssh(),
    loadConfig: async () => {
      const loaded = await (await app.config()).load({ mode: 'redact' });
      await addPluginBackends();
      return loaded;
    },
    async provisionComplete(instance) {
      const host = await activePlugins();
      if (host) await host.hooks.parallel('provisionComplete', { instance }, await projectScope());
    },
    async notify(message) {
      const host = await activePlugins();
      if (host) await host.hooks.parallel('notify', { event: 'gpu_available', message }, await projectScope());
    },
    ...(environment.env.MLTOOLBOX_PROVISION_POLL_MS ? { pollIntervalMs: Math.max(100, Number(environment.env.MLTOOLBOX_PROVISION_POLL_MS) || 3000) } : {}),
  });
}
