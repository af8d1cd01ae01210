import { join } from 'node:path';
import type { App } from './create-app.ts';
import type { ConnectionOrchestrator } from '../orchestrators/connection/connection-orchestrator.ts';

declare const MLTOOLBOX_VERSION: string | undefined;

/** The version stored on containers as a label (a container from another version is recreated). */
export function toolVersion(env: NodeJS.ProcessEnv): string {
  if (typeof MLTOOLBOX_VERSION === 'string') return MLTOOLBOX_VERSION;
  return env.npm_package_version ?? 'dev';
}

/**
 * Wires connect and the project commands: config, state, SSH, rsync and the
 * Docker API, each imported only now (the CLI's start-up never sees them).
 */
export async function createConnection(app: App): Promise<ConnectionOrchestrator> {
  // The Docker client and the container manager load on first use: a warm exec needs neither (dockerInteractiveCommand).
  const [{ createConnectionOrchestrator }, { localDockerSocket }, { dockerInteractiveCommand }] = await Promise.all([
    import('../orchestrators/connection/connection-orchestrator.ts'),
    import('../orchestrators/connection/place.ts'),
    import('../services/containers/exec-command.ts'),
  ]);
  const { environment, paths } = app;
  const version = toolVersion(environment.env);
  return createConnectionOrchestrator({
    projectDir: environment.projectDir,
    env: environment.env,
    reporter: environment.reporter,
    toolVersion: version,
    socketDir: join(paths.stateDir, 'sockets'),
    lockDir: join(paths.stateDir, 'locks'),
    configDir: paths.configDir,
    localDockerSocket: localDockerSocket(environment.env),
    createContainers: async (options) =>
      (await import('../services/containers/index.ts')).createDockerContainerManager({ ...options, toolVersion: version, reporter: environment.reporter }),
    interactiveCommand: dockerInteractiveCommand,
    loadConfig: async (mode) => (await app.config()).load({ mode }),
    state: () => app.state(),
    getSecret: async (name) => (await app.secretStore()).get(name),
    ssh: () => app.ssh(),
    sync: async (strategy) => {
      // Both strategies share the push records: an rclone push drops the one an rsync push would trust.
      const options = { env: environment.env, debug: (m: string) => environment.reporter.debug(m), pushRecordDir: join(paths.cacheDir, 'pushes') };
      if (strategy === 'rclone') return new (await import('../services/sync/rclone-sync-manager.ts')).RcloneSftpSyncManager(options);
      const { RsyncSyncManager } = await import('../services/sync/rsync-sync-manager.ts');
      return new RsyncSyncManager({ ...options, versionCacheFile: join(paths.cacheDir, 'rsync-version.json') });
    },
    plugins: () => app.plugins(),
    features: async () => (await import('./features-deps.ts')).createFeatures(environment, paths),
    offlineDefaultImage: async (containers) => {
      const [{ bootstrapOn }, { bootstrapDeps }] = await Promise.all([import('../orchestrators/images/images-orchestrator.ts'), import('./images-deps.ts')]);
      return bootstrapOn(containers, {}, await bootstrapDeps(environment), environment.reporter);
    },
    ...(environment.command ? { command: environment.command } : {}),
  });
}
