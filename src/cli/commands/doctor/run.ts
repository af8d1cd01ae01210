import { ExitCode } from '../../../core/exit-codes.ts';
import { UserError } from '../../../core/errors.ts';
import type { Check, CheckStatus, DoctorReport, FixOutcome, FixReport } from '../../../orchestrators/doctor/index.ts';
import { flagOption, stringArg, type CommandResult, type CommandRun } from '../../command.ts';
import { askYesNo } from '../../ui/ask.ts';
import type { Style } from '../../ui/style.ts';

export const run: CommandRun = async (context, input) => {
  const doctor = await context.app.doctor();
  const target = stringArg(input, 'TARGET');
  const request = { ...(target !== undefined ? { target } : {}), gpu: !flagOption(input, 'no-gpu') };
  if (flagOption(input, 'yes') && !flagOption(input, 'fix')) throw new UserError('USAGE', '--yes goes with --fix', 'mltoolbox doctor HOST --fix --yes');
  if (flagOption(input, 'docker-repo') && !flagOption(input, 'fix')) throw new UserError('USAGE', '--docker-repo goes with --fix', 'mltoolbox doctor HOST --fix --docker-repo');
  if (flagOption(input, 'fix')) {
    const interactive = context.app.environment.interactive;
    const fixed = await doctor.fix(request, {
      yes: flagOption(input, 'yes'),
      tty: interactive,
      ...(flagOption(input, 'docker-repo') ? { dockerRepo: true } : {}),
      ...(interactive ? { confirm: (question: string) => askYesNo(context, question) } : {}),
    });
    return withExit(fixed.report, fixed, () => [renderSteps(fixed, context.style), renderReport(fixed.report, context.style)].filter(Boolean).join('\n\n'));
  }
  const report = await doctor.run(request);
  return withExit(report, report, () => renderReport(report, context.style));
};

function withExit(report: DoctorReport, result: unknown, human: () => string): CommandResult {
  const failed = report.checks.filter((c) => c.status === 'fail');
  return {
    result,
    human,
    ...(failed.length
      ? {
          exitCode: ExitCode.checksFailed,
          error: {
            code: 'CHECKS_FAILED',
            message: `${failed.length} check${failed.length === 1 ? '' : 's'} failed on ${report.target}: ${failed.map((c) => c.id).join(', ')}`,
            hint: 'run the fix shown for each failed check (mltoolbox doctor HOST --fix offers to), then mltoolbox doctor again',
          },
        }
      : {}),
  };
}

const OUTCOME: Record<FixOutcome, (style: Style) => string> = {
  done: (s) => s.green('✔ done'),
  failed: (s) => s.red('✖ failed'),
  declined: (s) => s.yellow('- not run (declined)'),
  'not-asked': (s) => s.yellow('- not run (no terminal to ask: add --yes)'),
  manual: (s) => s.yellow('! do it yourself'),
};

function renderSteps(fixed: FixReport, style: Style): string {
  if (fixed.steps.length === 0) return style.green(`nothing to fix on ${fixed.target === 'local' ? 'this machine' : fixed.target}`);
  const lines = [style.bold('fixes')];
  for (const step of fixed.steps) {
    lines.push(`  ${OUTCOME[step.outcome](style)}  ${step.title}`);
    if (step.command) lines.push(`      $ ${step.command}`);
    if (step.manual && step.outcome === 'manual') lines.push(`      ${step.manual}`);
    for (const line of step.output ?? []) lines.push(`      ${style.dim(line)}`);
    if (step.then === 'reboot' && step.outcome !== 'failed') lines.push('      then reboot the host and run doctor --fix again');
  }
  return lines.join('\n');
}

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
