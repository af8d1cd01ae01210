import type { PluginListing } from '../../../orchestrators/plugins/plugin-host.ts';
import type { CommandRun } from '../../command.ts';
import type { Style } from '../../ui/style.ts';
import { openPlugins } from './open-plugins.ts';

export const run: CommandRun = async (context) => {
  const { host, configError } = await openPlugins(context);
  if (configError) context.reporter.warn(`${configError.message}: enabled plugins may be missing from this list (${configError.hint})`);
  const plugins = await host.list();
  return {
    result: { plugins, pluginsDir: host.pluginsDir },
    human: () => renderPluginTable(plugins, context.style),
  };
};

export function renderPluginTable(plugins: readonly PluginListing[], style: Style): string {
  if (plugins.length === 0) return 'no plugins found';
  const rows = [
    ['NAME', 'VERSION', 'ENABLED', 'SOURCE', 'HOOKS'],
    ...plugins.map((p) => [
      p.name,
      p.version ?? '-',
      p.problem ? 'error' : p.enabled ? (p.required ? 'required' : 'yes') : 'no',
      p.source,
      p.hooks.map((h) => h.name).join(', ') || '-',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row, index) => {
    const text = row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
    return index === 0 ? style.bold(text) : text;
  });
  for (const p of plugins) {
    if (p.problem) lines.push('', style.red(`${p.name}: ${p.problem.message}`), `  hint: ${p.problem.hint}`);
    if (p.commands.length) lines.push(style.dim(`${p.name} commands: ${p.commands.join(', ')} (mltoolbox plugins run …)`));
  }
  return lines.join('\n');
}
