import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Reporter } from '../../core/reporter.ts';
import type { StateStore } from '../../db/index.ts';
import { loadSqlite } from '../../db/sqlite.ts';
import type { SecretStore } from '../../services/secrets/types.ts';
import { findLegacyProject } from '../../services/v2/legacy-project.ts';
import { parseDotenv } from '../../services/config/dotenv.ts';
import { v2DatabaseFile } from '../../services/v2/v2-database.ts';
import { importV2State, noV2State, type StateImportResult } from './import-state.ts';
import { migrateProject, type MigrationPreview, type ProjectMigrationResult } from './migrate-project.ts';

export type { ProjectMigrationResult, MigrationPreview, MigratedSecret } from './migrate-project.ts';
export type { StateImportResult } from './import-state.ts';

export interface MigrateDeps {
  projectDir: string;
  homeDir: string;
  reporter: Reporter;
  secretStore: () => Promise<SecretStore>;
  /**
   * The v3 state database without the automatic v2 import (this is the
   * explicit one). `create: false` gives undefined instead of creating it.
   */
  openState: (options: { create: boolean }) => Promise<StateStore | undefined>;
}

export interface MigrateOrchestrator {
  /** Whether the project folder has v2 files. */
  hasLegacyProject(): Promise<boolean>;
  migrateProject(options: { dryRun: boolean; confirm?: (preview: MigrationPreview) => Promise<boolean> }): Promise<ProjectMigrationResult>;
  /** Imports ~/.config/mltoolbox/mltoolbox.db; links the v2 project named like this folder's project. */
  importState(options: { dryRun: boolean; projectName?: string }): Promise<StateImportResult>;
}

/** `mltoolbox migrate`: v2 project files -> mltoolbox.yaml, v2 state -> the state database. */
export function createMigrateOrchestrator(deps: MigrateDeps): MigrateOrchestrator {
  return {
    hasLegacyProject: async () => (await findLegacyProject(deps.projectDir)) !== undefined,
    migrateProject: (options) => migrateProject({ projectDir: deps.projectDir, reporter: deps.reporter, secretStore: deps.secretStore, ...options }),
    async importState(options) {
      const v2File = v2DatabaseFile(deps.homeDir);
      if (!existsSync(v2File)) return noV2State(v2File, options.dryRun);
      const store = await deps.openState({ create: !options.dryRun });
      const sqlite = await loadSqlite();
      const name = options.projectName ?? (await v2ProjectName(deps.projectDir));
      return importV2State({ store, v2File, sqlite, homeDir: deps.homeDir, dryRun: options.dryRun, project: { dir: deps.projectDir, name } });
    },
  };
}

/** The name v2 knew this folder by: PROJECT_NAME from its .env, else the folder name. */
async function v2ProjectName(projectDir: string): Promise<string> {
  const legacy = await findLegacyProject(projectDir).catch(() => undefined);
  const fromEnv = legacy?.env ? parseDotenv(legacy.env.text).entries.findLast((entry) => entry.name === 'PROJECT_NAME')?.value : undefined;
  return fromEnv || basename(projectDir);
}
