import { ExitCode } from '../../../core/exit-codes.ts';
import type { Check, CheckStatus, DoctorReport } from '../../../orchestrators/doctor/index.ts';
import { flagOption, stringArg, type CommandRun } from '../../command.ts';
import type { Style } from '../../ui/style.ts';

export const run: CommandRun = async (context, input) => {
  const doctor = await context.app.doctor();
  const target = stringArg(input, 'TARGET');
  const report = await doctor.run({ ...(target !== undefined ? { target } : {}), gpu: !flagOption(input, 'no-gpu') });
  const failed = report.checks.filter((c) => c.status === 'fail');
  return {
    result: report,
    human: () => renderReport(report, context.style),
    ...(failed.length
      ? {
          exitCode: ExitCode.checksFailed,
          error: {
            code: 'CHECKS_FAILED',
            message: `${failed.length} check${failed.length === 1 ? '' : 's'} failed on ${report.target}: ${failed.map((c) => c.id).join(', ')}`,
            hint: 'run the fix shown for each failed check, then mltoolbox doctor again',
          },
        }
      : {}),
  };
};

const ICONS: Record<CheckStatus, (style: Style) => string> = {
  ok: (s) => s.green('✔'),
  warn: (s) => s.yellow('!'),
  fail: (s) => s.red('✖'),
  skip: (s) => s.dim('-'),
};

export function renderReport(report: DoctorReport, style: Style): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines = [style.bold(report.target === 'local' ? 'this machine' : report.target)];
  for (const check of report.checks) {
    const detail = check.status === 'skip' ? style.dim(check.detail) : check.detail;
    lines.push(`  ${ICONS[check.status](style)} ${check.title.padEnd(width)}  ${detail}`);
    if (check.fix) lines.push(`    ${' '.repeat(width + 2)}${fixLabel(check, style)} ${check.fix}`);
  }
  const count = (status: CheckStatus) => report.checks.filter((c) => c.status === status).length;
  const failed = count('fail');
  const warned = count('warn');
  const summary = `${count('ok')} ok, ${warned} warning${warned === 1 ? '' : 's'}, ${failed} failed`;
  lines.push('', failed ? style.red(summary) : warned ? style.yellow(summary) : style.green(summary));
  return lines.join('\n');
}

function fixLabel(check: Check, style: Style): string {
  return check.status === 'fail' ? style.red('fix:') : style.yellow('fix:');
}
