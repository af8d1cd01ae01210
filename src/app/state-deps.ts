import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppPaths } from '../core/paths.ts';
import type { Reporter } from '../core/reporter.ts';
import type { StateStore } from '../db/index.ts';
import { V2_STATE_IMPORT_MARKER } from '../orchestrators/migrate/marker.ts';
import type { AppEnvironment } from './create-app.ts';

/** `$XDG_DATA_HOME/mltoolbox/state.db` (or under MLTOOLBOX_DATA_DIR). */
export function stateDbFile(paths: AppPaths): string {
  return join(paths.dataDir, 'state.db');
}

/**
 * Opens the state database for this process. It is closed at exit so
 * SQLite checkpoints the WAL and removes state.db-wal / -shm; a crash
 * leaves them behind, which SQLite recovers from on the next open.
 */
export async function openAppStateStore(paths: AppPaths, environment?: AppEnvironment, options: { importV2?: boolean } = {}): Promise<StateStore> {
  const { openStateStore } = await import('../db/index.ts');
  const store = await openStateStore({ file: stateDbFile(paths) });
  process.once('exit', () => store.close());
  for (const repair of store.repairs) (environment?.reporter ?? { warn: (m: string) => process.stderr.write(`! ${m}\n`) }).warn(repair);
  if (environment && options.importV2 !== false) await importV2StateOnce(store, paths, environment.reporter);
  return store;
}

/**
 * mltoolbox v2 kept its remotes in ~/.config/mltoolbox/mltoolbox.db. The
 * first time a state database meets that file its rows are imported (see
 * orchestrators/migrate); a marker in the database makes every later open
 * cost one SELECT. A failed import is a warning: no command fails for it.
 */
async function importV2StateOnce(store: StateStore, paths: AppPaths, reporter: Reporter): Promise<void> {
  try {
    if (store.getMeta(V2_STATE_IMPORT_MARKER) !== undefined) return;
    const { v2DatabaseFile } = await import('../services/v2/v2-database.ts');
    const v2File = v2DatabaseFile(paths.homeDir);
    if (!existsSync(v2File)) return;
    const { autoImportV2State } = await import('../orchestrators/migrate/auto-import.ts');
    await autoImportV2State(store, v2File, paths.homeDir, reporter);
  } catch (error) {
    reporter.warn(`could not import the mltoolbox v2 state: ${(error as Error).message}; retry with: mltoolbox migrate --state`);
  }
}
