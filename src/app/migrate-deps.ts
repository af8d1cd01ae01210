import { existsSync } from 'node:fs';
import type { StateStore } from '../db/index.ts';
import type { MigrateOrchestrator } from '../orchestrators/migrate/index.ts';
import type { App } from './create-app.ts';

/**
 * Wires `mltoolbox migrate`. It opens the state database itself, without
 * the automatic v2 import, because `migrate --state` is that import made
 * explicit (and `--dry-run` must not run it).
 */
export async function createMigrate(app: App): Promise<MigrateOrchestrator> {
  const { createMigrateOrchestrator } = await import('../orchestrators/migrate/index.ts');
  const { openAppStateStore, stateDbFile } = await import('./state-deps.ts');
  let opened: Promise<StateStore> | undefined;
  return createMigrateOrchestrator({
    projectDir: app.environment.projectDir,
    homeDir: app.paths.homeDir,
    reporter: app.environment.reporter,
    secretStore: () => app.secretStore(),
    openState: async ({ create }) => {
      if (!create && !existsSync(stateDbFile(app.paths))) return undefined;
      return (opened ??= openAppStateStore(app.paths, app.environment, { importV2: false }));
    },
  });
}
