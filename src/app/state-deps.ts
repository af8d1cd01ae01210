import { join } from 'node:path';
import type { AppPaths } from '../core/paths.ts';
import type { StateStore } from '../db/index.ts';

/** `$XDG_DATA_HOME/mltoolbox/state.db` (or under MLTOOLBOX_DATA_DIR). */
export function stateDbFile(paths: AppPaths): string {
  return join(paths.dataDir, 'state.db');
}

/**
 * Opens the state database for this process. It is closed at exit so
 * SQLite checkpoints the WAL and removes state.db-wal / -shm; a crash
 * leaves them behind, which SQLite recovers from on the next open.
 */
export async function openAppStateStore(paths: AppPaths): Promise<StateStore> {
  const { openStateStore } = await import('../db/index.ts');
  const store = await openStateStore({ file: stateDbFile(paths) });
  process.once('exit', () => store.close());
  return store;
}
