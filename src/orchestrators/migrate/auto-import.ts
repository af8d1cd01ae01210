import type { Reporter } from '../../core/reporter.ts';
import type { StateStore } from '../../db/index.ts';
import { loadSqlite } from '../../db/sqlite.ts';
import { importV2State } from './import-state.ts';

/**
 * The one-time import the app runs when it opens a state database that has
 * not seen the v2 database yet. One line on stderr when something came
 * over; the details are `mltoolbox migrate --state --dry-run`.
 */
export async function autoImportV2State(store: StateStore, v2File: string, homeDir: string, reporter: Reporter): Promise<void> {
  const result = importV2State({ store, v2File, sqlite: await loadSqlite(), homeDir, dryRun: false });
  const imported = result.remotes.filter((remote) => remote.status === 'imported').map((remote) => remote.alias);
  if (imported.length > 0) {
    reporter.info(`imported ${imported.length} saved remote${imported.length === 1 ? '' : 's'} from mltoolbox v2 (${imported.join(', ')}); details: mltoolbox migrate --state --dry-run`);
  }
  for (const warning of result.warnings) reporter.warn(`mltoolbox v2 state: ${warning}`);
}
