import { createInterface } from 'node:readline/promises';
import { relative } from 'node:path';
import { UserError } from '../../../core/errors.ts';
import type { MigrationPreview, ProjectMigrationResult, StateImportResult } from '../../../orchestrators/migrate/index.ts';
import { flagOption, type CommandContext, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const dryRun = flagOption(input, 'dry-run');
  const yes = flagOption(input, 'yes');
  const withState = flagOption(input, 'state');
  const migrate = await context.app.migrate();

  // --state works in any folder; without it, a folder with no v2 files is an error.
  const project = !withState || (await migrate.hasLegacyProject())
    ? await migrate.migrateProject({ dryRun, ...(yes ? {} : { confirm: confirmer(context) }) })
    : undefined;
  const state = withState ? await migrate.importState({ dryRun }) : undefined;
  for (const warning of state?.warnings ?? []) context.reporter.warn(`v2 state: ${warning}`);

  return {
    result: { ...(project ? { project } : {}), ...(state ? { state } : {}) },
    human: () => [...(project ? renderProject(context, project) : []), ...(state ? renderState(context, state) : [])].join('\n'),
  };
};

function confirmer(context: CommandContext) {
  return async (preview: MigrationPreview): Promise<boolean> => {
    const secrets = preview.secrets.filter((s) => s.status === 'stored');
    const what = `write ${relative(context.globals.projectDir, preview.file) || preview.file}${secrets.length > 0 ? ` and store ${secrets.length} secret${secrets.length === 1 ? '' : 's'} (${secrets.map((s) => s.name).join(', ')}) in the ${preview.backend === 'keychain' ? 'OS keychain' : 'secret store'}` : ''}`;
    if (!context.app.environment.interactive) {
      throw new UserError('MIGRATE_CONFIRMATION_REQUIRED', `migrate would ${what}, and there is no terminal to ask`,
        'add --yes to go ahead, or --dry-run to see what it would write');
    }
    const rl = createInterface({ input: context.stdin, output: context.stderr, terminal: false });
    try {
      const answer = (await rl.question(`${what[0]!.toUpperCase()}${what.slice(1)}? The v2 files stay as they are. [y/N] `)).trim().toLowerCase();
      return answer === 'y' || answer === 'yes';
    } finally {
      rl.close();
    }
  };
}

function renderProject(context: CommandContext, result: ProjectMigrationResult): string[] {
  const { style } = context;
  const file = relative(context.globals.projectDir, result.file) || result.file;
  const lines: string[] = [];
  switch (result.status) {
    case 'written':
      lines.push(`${style.green('✔')} wrote ${file} from ${result.sources.join(', ')} (project ${result.projectName})`);
      break;
    case 'already-migrated':
      lines.push(`${style.green('✔')} already migrated: ${file} matches ${result.sources.join(', ')}; nothing written`);
      break;
    case 'cancelled':
      lines.push(`${style.yellow('!')} cancelled: nothing written, no secret stored`);
      break;
    case 'dry-run':
      lines.push(`${style.cyan('dry run')}: nothing written, no secret stored. ${file} would be:`, '', ...(result.content ?? '').trimEnd().split('\n').map((l) => `  ${l}`), '');
      break;
  }
  if (result.status === 'already-migrated' && !result.secrets.some((s) => s.status === 'stored')) return lines;
  lines.push('', style.bold(`Mapped (${result.mapped.length}):`));
  for (const item of result.mapped) lines.push(`  ${item.from} ${style.dim('→')} ${item.to}`);
  lines.push('', style.bold(`Moved to the secret store (${result.secrets.length}):`));
  if (result.secrets.length === 0) lines.push('  none');
  for (const secret of result.secrets) {
    const state = { stored: 'stored', 'already-stored': 'already in the store', 'would-store': 'would be stored' }[secret.status];
    lines.push(`  ${secret.variable} ${style.dim('→')} \${secret:${secret.name}} (${state})`);
  }
  lines.push('', style.bold(`Not migrated (${result.notMapped.length}):`));
  if (result.notMapped.length === 0) lines.push('  none');
  for (const item of result.notMapped) lines.push(`  ${item.from}: ${item.reason}`);
  if (result.notes.length > 0) {
    lines.push('', style.bold('Notes:'));
    for (const note of result.notes) lines.push(`  ${note}`);
  }
  if (result.status === 'written') {
    lines.push('', `The v2 files are unchanged. Undo: delete ${file}${result.secrets.length > 0 ? ` and run ${result.secrets.map((s) => `mltoolbox secret rm ${s.name}`).join('; ')}` : ''}.`);
    lines.push('Next:', '  mltoolbox config validate        check it', '  mltoolbox connect HOST            use it');
  }
  return lines;
}

function renderState(context: CommandContext, result: StateImportResult): string[] {
  const { style } = context;
  const lines = [''];
  if (!result.found) {
    lines.push(`v2 state: no v2 database at ${result.file}; nothing to import`);
    return lines;
  }
  const label: Record<string, string> = {
    imported: 'imported', 'would-import': 'would be imported', 'already-present': 'already saved', conflict: 'kept the existing one', skipped: 'skipped',
    linked: 'linked', 'would-link': 'would be linked', 'already-linked': 'already linked', 'not-mapped': 'not imported',
  };
  lines.push(style.bold(`v2 state from ${result.file}${result.dryRun ? ' (dry run: nothing imported)' : ''}:`));
  lines.push(`  remotes (${result.remotes.length}):`);
  for (const remote of result.remotes) lines.push(`    ${remote.alias} (${remote.host}): ${label[remote.status]}${remote.reason ? ` — ${remote.reason}` : ''}`);
  lines.push(`  projects (${result.projects.length}):`);
  for (const project of result.projects) {
    const where = project.localPath ? ` → ${project.localPath}${project.lastRemote ? ` (last host ${project.lastRemote})` : ''}` : '';
    lines.push(`    ${project.name}: ${label[project.status]}${where}${project.reason ? ` — ${project.reason}` : ''}`);
  }
  for (const item of result.notMapped) lines.push(`  not imported: ${item.from}: ${item.reason}`);
  if (result.warnings.length > 0) lines.push(`  ${style.yellow(`${result.warnings.length} warning(s)`)}: the v2 database is incomplete or damaged (listed on stderr)`);
  return lines;
}
