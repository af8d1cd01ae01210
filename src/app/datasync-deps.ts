import type { App } from './create-app.ts';
import type { DataSyncOrchestrator } from '../orchestrators/datasync/datasync-orchestrator.ts';

/** Wires `datasync up|down`: rclone, run here, on the host or in the container via the connection orchestrator. */
export async function createDataSync(app: App): Promise<DataSyncOrchestrator> {
  const [{ createDataSyncOrchestrator }, { RcloneSyncManager }] = await Promise.all([
    import('../orchestrators/datasync/datasync-orchestrator.ts'),
    import('../services/datasync/rclone-sync-manager.ts'),
  ]);
  const { environment } = app;
  return createDataSyncOrchestrator({
    projectDir: environment.projectDir,
    env: environment.env,
    reporter: environment.reporter,
    connection: () => app.connection(),
    rclone: async () => new RcloneSyncManager(),
  });
}
