import { setTimeout as delay } from 'node:timers/promises';
import type { Reporter } from '../../core/reporter.ts';
import { stderrTail } from '../../core/stderr-tail.ts';
import { planFixes, type FixStep } from '../../services/diagnostics/fix-plan.ts';
import type { ProbeSections } from '../../services/diagnostics/probe.ts';
import type { DoctorReport } from '../../services/diagnostics/types.ts';

/** One probe of a target, with what --fix needs to act on it. */
export interface Inspection {
  report: DoctorReport;
  sections: ProbeSections;
  local: boolean;
  /** Runs a shell command on the target; with tty, on the user's terminal (sudo may ask for a password). */
  execute(command: string, tty: boolean): Promise<{ code: number; output: string }>;
  /** Drops the shared connection so the next command is a new login (a new group applies). */
  reconnect(): Promise<void>;
}

export interface FixOptions {
  /** --yes: run every step without asking. */
  yes: boolean;
  /** Asks before a step; absent when there is no terminal to ask on (then only --yes runs anything). */
  confirm?: (question: string) => Promise<boolean>;
  /** Commands may use the terminal (sudo password prompts). */
  tty: boolean;
  /** --docker-repo: Docker's apt repository (docker-ce) instead of the distribution's docker.io. */
  dockerRepo?: boolean;
}

export type FixOutcome = 'done' | 'failed' | 'declined' | 'not-asked' | 'manual';

export interface FixStepResult extends FixStep {
  outcome: FixOutcome;
  exitCode?: number;
  /** The last lines of the command's output when it failed. */
  output?: string[];
}

export interface FixReport {
  target: string;
  steps: FixStepResult[];
  /** The report of the last probe: after the fixes. */
  report: DoctorReport;
  /** Something ran successfully (a second run on a fixed host changes nothing). */
  changed: boolean;
}

/** Never more steps than this in one run: each one is followed by a fresh probe. */
const MAX_STEPS = 10;
const SETTLE_POLL_MS = 2000;

/**
 * doctor --fix: probe, take the first step of the plan, show its command,
 * ask, run it, probe again — one step at a time, so each step is judged on
 * the host as it is after the previous one. Stops at the first failure,
 * refusal, manual step or reboot; a step that ran but did not fix its check
 * is not run twice.
 */
export async function runFixes(inspect: (request: { target?: string; gpu: boolean }) => Promise<Inspection>, request: { target?: string; gpu: boolean }, options: FixOptions, reporter: Reporter): Promise<FixReport> {
  let inspection = await inspect(request);
  const target = inspection.report.target;
  const where = inspection.local ? 'this machine' : target;
  const steps: FixStepResult[] = [];
  const tried = new Set<string>();
  const plan = { dockerRepo: options.dockerRepo === true };
  for (let n = 0; n < MAX_STEPS; n++) {
    const [step] = planFixes(inspection.report.checks, inspection.sections, plan);
    if (!step) break;
    const key = `${step.id}\n${step.command ?? ''}`;
    if (tried.has(key)) {
      steps.push({ ...step, outcome: 'failed', output: ['the step ran, but the check it fixes still fails; see the report below'] });
      break;
    }
    tried.add(key);
    reporter.info(`fix on ${where}: ${step.title}`);
    if (!step.command) {
      if (step.then === 'reconnect') {
        // Nothing to run: a new login picks up the group.
        await inspection.reconnect();
        steps.push({ ...step, outcome: 'done' });
        inspection = await inspect(request);
        continue;
      }
      reporter.info(`  do it yourself: ${step.manual}`);
      steps.push({ ...step, outcome: 'manual' });
      break;
    }
    reporter.info(`  $ ${step.command}`);
    const go = options.yes || (options.confirm ? await options.confirm(`Run it on ${where}?`) : false);
    if (!go) {
      steps.push({ ...step, outcome: options.confirm ? 'declined' : 'not-asked' });
      break;
    }
    const result = await inspection.execute(step.command, options.tty);
    if (result.code !== 0) {
      steps.push({ ...step, outcome: 'failed', exitCode: result.code, output: stderrTail(result.output) });
      break;
    }
    steps.push({ ...step, outcome: 'done', exitCode: 0 });
    if (step.then === 'reconnect') await inspection.reconnect();
    if (step.then === 'reboot') break;
    inspection = await inspect(request);
    // A daemon that was just started may need a moment: probe again (bounded) while the same step is still planned.
    const settleUntil = Date.now() + (step.settleS ?? 0) * 1000;
    while (Date.now() < settleUntil && planFixes(inspection.report.checks, inspection.sections, plan)[0]?.id === step.id) {
      await delay(SETTLE_POLL_MS);
      inspection = await inspect(request);
    }
  }
  return { target, steps, report: inspection.report, changed: steps.some((s) => s.outcome === 'done') };
}
