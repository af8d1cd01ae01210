import type { MigrationPlan } from '../../services/v2/map-project.ts';
import { comment, yamlBlock } from '../init/render-config.ts';

/**
 * mltoolbox.yaml as `migrate` writes it: the same modeline and header style
 * as `init`, the migrated settings, then what was not migrated as comments.
 * Deterministic (no dates), so a second run can tell "already migrated".
 */
export function renderMigratedConfig(plan: MigrationPlan, schemaRef: string): string {
  const out: string[] = [`# yaml-language-server: $schema=${schemaRef}`, '#'];
  out.push(...comment([
    `mltoolbox project configuration, written by \`mltoolbox migrate\` from ${plan.sources.join(', ')}.`,
    'Those files are unchanged and no longer read; delete them once this works for you.',
    ...(plan.secrets.length > 0 ? ['Secrets from them are in your secret store (mltoolbox secret list), referenced as ${secret:NAME}.'] : []),
    'Personal settings (your GPU host, local paths) go in mltoolbox.local.yaml, which git ignores.',
    'Check it: mltoolbox config validate    See every value and its origin: mltoolbox config show --origin',
  ]));
  const { version, ...sections } = plan.config;
  out.push(`version: ${String(version ?? 1)}`);
  for (const [key, value] of Object.entries(sections)) {
    out.push('', ...yamlBlock({ [key]: value }));
  }
  if (plan.notes.length > 0) {
    out.push('', ...comment(['Notes from the migration:', ...plan.notes.map((note) => `  - ${note}`)]));
  }
  if (plan.notMapped.length > 0) {
    out.push('', ...comment(['Not migrated:', ...plan.notMapped.map((item) => `  - ${item.from}: ${item.reason}`)]));
  }
  return `${out.join('\n')}\n`;
}
