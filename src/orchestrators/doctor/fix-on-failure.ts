import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { Doctor } from './doctor.ts';
import type { FixOptions, FixReport } from './fix.ts';

/**
 * The failures of a host check that `doctor --fix` knows how to fix: the engine
 * not installed, not running or refusing the user, rsync missing on the host.
 * A lost ssh connection is not one of them (nothing on the host to fix).
 */
const FIXABLE = new Set(['DOCKER_UNREACHABLE', 'DOCKER_PERMISSION_DENIED', 'SYNC_RSYNC_MISSING_ON_HOST']);

export function isFixableHostFailure(error: unknown): error is UserError {
  return error instanceof UserError && FIXABLE.has(error.code);
}

export interface HostFixOffer {
  /** The host the work ran against, as doctor names it (`local` for this machine). */
  target: () => Promise<string>;
  /** --yes, a confirm on a terminal, whether commands may use the terminal (sudo). */
  fix: FixOptions;
  reporter: Reporter;
}

/**
 * Runs `work`; when it fails on a host check doctor can fix, offers doctor's
 * fixes one step at a time (each command shown; asked on a terminal, run with
 * --yes) and runs `work` once more when they leave the host's checks passing.
 * Without a terminal and without --yes nothing is offered: the error stands,
 * its hint naming `mltoolbox doctor HOST --fix`.
 */
export async function withHostFixes<T>(doctor: () => Promise<Doctor>, offer: HostFixOffer, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isFixableHostFailure(error) || (!offer.fix.yes && !offer.fix.confirm)) throw error;
    const target = await offer.target();
    offer.reporter.warn(`${error.message}; mltoolbox doctor can fix it on ${target === 'local' ? 'this machine' : target}, one step at a time`);
    const fixed = await (await doctor()).fix({ target, gpu: false }, offer.fix);
    if (!hostReady(fixed)) {
      const stopped = fixed.steps.at(-1);
      if (stopped) offer.reporter.warn(`connect stops here: the fix "${stopped.title}" ${describeOutcome(stopped.outcome)}; the host check still fails (mltoolbox doctor ${target} shows it)`);
      throw error;
    }
    offer.reporter.info(`fixed on ${target}: ${fixed.steps.filter((s) => s.outcome === 'done').map((s) => s.id).join(', ') || 'nothing needed'}; trying again`);
    return await work();
  }
}

/** Every check of the host itself passes (GPU checks are connect's own business: environment.gpus decides). */
function hostReady(fixed: FixReport): boolean {
  return !fixed.report.checks.some((c) => c.status === 'fail' && c.id.startsWith('host.'));
}

function describeOutcome(outcome: FixReport['steps'][number]['outcome']): string {
  switch (outcome) {
    case 'done':
      return 'ran';
    case 'failed':
      return 'failed';
    case 'declined':
      return 'was declined';
    case 'not-asked':
      return 'was not run';
    case 'manual':
      return 'is yours to do';
  }
}
