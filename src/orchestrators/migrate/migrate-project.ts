import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../infrastructure/private-file.ts';
import type { Reporter } from '../../core/reporter.ts';
import { PROJECT_CONFIG_FILE } from '../../services/config/loader.ts';
import { configJsonSchema } from '../../services/config/schema.ts';
import type { SecretStore } from '../../services/secrets/types.ts';
import { findLegacyProject, type LegacyProject } from '../../services/v2/legacy-project.ts';
import { mapLegacyProject, type MappedSetting, type MigrationPlan, type NotMappedSetting, type PlannedSecret } from '../../services/v2/map-project.ts';
import { SCHEMA_FILE } from '../init/init-project.ts';
import { renderMigratedConfig } from './render-migrated.ts';

export type SecretMigrationStatus = 'stored' | 'already-stored' | 'would-store';

export interface MigratedSecret {
  /** The v2 variable (or build argument) it came from. */
  variable: string;
  /** Its name in the secret store: `${secret:NAME}`. */
  name: string;
  status: SecretMigrationStatus;
  /** Config keys that reference it. */
  keys: string[];
}

/** What `migrate` will do, shown before asking. */
export interface MigrationPreview {
  file: string;
  sources: string[];
  secrets: MigratedSecret[];
  backend: string | undefined;
}

export interface MigrateProjectOptions {
  projectDir: string;
  dryRun: boolean;
  secretStore: () => Promise<SecretStore>;
  reporter: Reporter;
  /** Asked before anything is written; false cancels. Never asked on a dry run or when there is nothing to do. */
  confirm?: (preview: MigrationPreview) => Promise<boolean>;
}

export type ProjectMigrationStatus = 'written' | 'already-migrated' | 'dry-run' | 'cancelled';

export interface ProjectMigrationResult {
  status: ProjectMigrationStatus;
  file: string;
  layout: LegacyProject['layout'];
  sources: string[];
  projectName: string;
  mapped: MappedSetting[];
  secrets: MigratedSecret[];
  notMapped: NotMappedSetting[];
  notes: string[];
  /** Dry run: the mltoolbox.yaml that would be written (secrets as references only). */
  content?: string;
  /** Dry run: an mltoolbox.yaml exists and differs, so a real run would refuse. */
  existingDiffers?: boolean;
}

/**
 * `mltoolbox migrate`: reads a v2 project (.env, docker-compose.yml,
 * Dockerfile — never writes them), writes the equivalent mltoolbox.yaml and
 * moves secret values into the secret store. A second run finds the same
 * file and reports "already migrated"; a dry run writes and stores nothing.
 */
export async function migrateProject(options: MigrateProjectOptions): Promise<ProjectMigrationResult> {
  const { projectDir, dryRun, reporter } = options;
  const legacy = await findLegacyProject(projectDir);
  if (!legacy) {
    throw new UserError('MIGRATE_NOTHING_FOUND', `no mltoolbox v2 project in ${projectDir}`,
      'run it in a folder v2 set up (it has .mlt/docker-compose.yml, or docker-compose.yml and .env); `mltoolbox init` starts a new project',
      { data: { projectDir } });
  }
  reporter.info(`found a v2 project (${legacy.layout === 'mlt' ? '.mlt/ layout' : 'files in the project root'}): ${[legacy.env?.path, legacy.compose.path, legacy.dockerfile?.path].filter(Boolean).join(', ')}`);

  let plan = mapLegacyProject(legacy);
  let store: SecretStore | undefined;
  let secrets: MigratedSecret[];
  if (dryRun || plan.secrets.length === 0) {
    secrets = plan.secrets.map((secret) => ({ variable: secret.variable, name: secret.name, status: 'would-store', keys: secret.keys }));
  } else {
    store = await options.secretStore();
    const chosen = await chooseSecretNames(store, plan);
    plan = mapLegacyProject(legacy, { secretNames: new Map(chosen.map((c) => [c.variable, c.name])) });
    secrets = plan.secrets.map((secret) => ({ variable: secret.variable, name: secret.name, status: chosen.find((c) => c.variable === secret.variable)!.status, keys: secret.keys }));
  }

  const file = join(projectDir, PROJECT_CONFIG_FILE);
  const content = renderMigratedConfig(plan, SCHEMA_FILE);
  assertNoSecretValues(content, plan.secrets, PROJECT_CONFIG_FILE);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  const base = { file, layout: plan.layout, sources: plan.sources, projectName: plan.projectName, mapped: plan.mapped, notMapped: plan.notMapped, notes: plan.notes };
  const secretValues = plan.secrets;
  const done = (result: ProjectMigrationResult): ProjectMigrationResult => {
    assertNoSecretValues(JSON.stringify(result), secretValues, 'the report');
    return result;
  };

  if (dryRun) {
    const differs = existing !== undefined && existing !== content;
    if (differs) reporter.warn(`${PROJECT_CONFIG_FILE} already exists and differs from what migrate would write; a real run would refuse to replace it`);
    const status = existing === content ? 'already-migrated' : 'dry-run';
    return done({ status, ...base, secrets, content, ...(differs ? { existingDiffers: true } : {}) });
  }
  if (existing !== undefined && existing !== content) {
    throw new UserError('CONFIG_EXISTS', `${PROJECT_CONFIG_FILE} already exists in ${projectDir} and differs from what migrate would write`,
      `rename it (mv ${PROJECT_CONFIG_FILE} ${PROJECT_CONFIG_FILE}.old) and run mltoolbox migrate again, or see what migrate would write: mltoolbox migrate --dry-run`,
      { data: { file } });
  }

  const toStore = secrets.filter((secret) => secret.status === 'stored');
  if (existing === content && toStore.length === 0) return done({ status: 'already-migrated', ...base, secrets });
  if (existing !== content && options.confirm) {
    const go = await options.confirm({ file, sources: plan.sources, secrets, backend: store?.backend });
    if (!go) return done({ status: 'cancelled', ...base, secrets: secrets.map((s) => ({ ...s, status: s.status === 'stored' ? 'would-store' : s.status })) });
  }

  // Secrets first: the file must never name a secret that is not there.
  for (const secret of toStore) {
    await store!.set(secret.name, plan.secrets.find((s) => s.variable === secret.variable)!.value);
    reporter.debug(`stored ${secret.variable} as secret ${secret.name}`);
  }
  if (existing === content) return done({ status: 'already-migrated', ...base, secrets });
  try {
    await writeSchema(projectDir);
    await writeFileAtomic(file, content, { mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UserError('CONFIG_UNREADABLE', `could not write ${file} (${code}); the v2 files and the secret store are unchanged`,
      code === 'ENOSPC' ? 'free some disk space, then run mltoolbox migrate again' : `check you may write to ${projectDir} (ls -ld), then run mltoolbox migrate again`, { cause: error });
  }
  return done({ status: 'written', ...base, secrets });
}

/**
 * The store name for each secret: the variable in lower case
 * (wandb_api_key), unless the store already holds a different value under
 * it (another project's key), then `<project>.wandb_api_key`. The same
 * value under the name is reused, which is what makes a second run a no-op.
 */
async function chooseSecretNames(store: SecretStore, plan: MigrationPlan): Promise<Array<{ variable: string; name: string; status: SecretMigrationStatus }>> {
  const taken = new Set<string>();
  const chosen: Array<{ variable: string; name: string; status: SecretMigrationStatus }> = [];
  for (const secret of plan.secrets) {
    const base = secret.name;
    const candidates = [base, `${plan.projectName}.${base}`.slice(0, 128)];
    for (let n = 2; candidates.length < 12; n++) candidates.push(`${plan.projectName}.${base}_${n}`.slice(0, 128));
    let pick: { name: string; status: SecretMigrationStatus } | undefined;
    for (const name of candidates) {
      if (taken.has(name)) continue;
      const current = await store.get(name);
      if (current === undefined) pick = { name, status: 'stored' };
      else if (current === secret.value) pick = { name, status: 'already-stored' };
      if (pick) break;
    }
    if (!pick) {
      throw new UserError('MIGRATE_SECRET_CONFLICT', `the secret store already holds other values under ${candidates.slice(0, 2).join(', ')} and more`,
        `remove the ones you no longer need (mltoolbox secret list, mltoolbox secret rm NAME) and run mltoolbox migrate again`);
    }
    taken.add(pick.name);
    chosen.push({ variable: secret.variable, ...pick });
  }
  return chosen;
}

/** A last guard: a secret value in text about to be written or printed is a bug, never written. */
export function assertNoSecretValues(text: string, secrets: readonly PlannedSecret[], where: string): void {
  const leaked = secrets.filter((secret) => secret.value.length >= 8 && text.includes(secret.value));
  if (leaked.length > 0) throw new Error(`internal: the value of ${leaked.map((s) => s.variable).join(', ')} would have been written to ${where}; nothing was written`);
}

async function writeSchema(projectDir: string): Promise<void> {
  const schemaFile = join(projectDir, SCHEMA_FILE);
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if ((await readFile(schemaFile, 'utf8').catch(() => undefined)) === text) return;
  await writeFileAtomic(schemaFile, text, { mode: 0o644 });
}
