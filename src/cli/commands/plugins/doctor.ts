import { ExitCode } from '../../../core/exit-codes.ts';
import type { PluginCheck } from '../../../orchestrators/plugins/plugin-host.ts';
import type { CommandRun } from '../../command.ts';
import { commands } from '../index.ts';
import type { Style } from '../../ui/style.ts';
import { openPlugins } from './open-plugins.ts';

export const run: CommandRun = async (context) => {
  const { host, configError } = await openPlugins(context);
  const checks: PluginCheck[] = await host.doctor(commands.map((c) => c.name));
  if (configError) {
    checks.unshift({ plugin: 'config', status: 'fail', message: [configError.message, ...configError.details].join('\n'), hint: configError.hint });
  }
  const failed = checks.filter((c) => c.status === 'fail');
  return {
    result: { checks },
    human: () => renderChecks(checks, context.style),
    ...(failed.length
      ? {
          exitCode: ExitCode.checksFailed,
          error: {
            code: 'CHECKS_FAILED',
            message: `${failed.length} plugin check${failed.length === 1 ? '' : 's'} failed: ${[...new Set(failed.map((c) => c.plugin))].join(', ')}`,
            hint: 'follow the hint under each failed check, then run mltoolbox plugins doctor again',
          },
        }
      : {}),
  };
};

const ICONS = { ok: (s: Style) => s.green('✔'), warn: (s: Style) => s.yellow('!'), fail: (s: Style) => s.red('✖') };

function renderChecks(checks: readonly PluginCheck[], style: Style): string {
  if (checks.length === 0) return 'no plugins found';
  const width = Math.max(...checks.map((c) => c.plugin.length));
  const lines: string[] = [];
  for (const check of checks) {
    const [first, ...rest] = check.message.split('\n');
    lines.push(`${ICONS[check.status](style)} ${check.plugin.padEnd(width)}  ${first}`);
    for (const line of rest) lines.push(`  ${' '.repeat(width)}  ${line}`);
    if (check.hint) lines.push(`  ${' '.repeat(width)}  ${style.dim(`hint: ${check.hint}`)}`);
  }
  const count = (status: PluginCheck['status']) => checks.filter((c) => c.status === status).length;
  lines.push('', `${count('ok')} ok, ${count('warn')} warnings, ${count('fail')} failed`);
  return lines.join('\n');
}
