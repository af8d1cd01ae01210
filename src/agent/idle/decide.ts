/**
 * The idle decision the host agent makes (mlt idle watch), kept pure so it is
 * tested without a host: one observation in, the next state and what to do out.
 *
 * Idle means, over the whole window: no SSH or editor connection that lasted at
 * least `minConnectionSeconds` (a health check or `ssh host true` does not
 * count), no interactive session, no `mlt run` job, and every GPU under
 * `gpuThresholdPercent`. Any one of them restarts the window.
 */

import type { IdleAction } from '../../core/idle-action.ts';

export type { IdleAction } from '../../core/idle-action.ts';

export interface IdleSettings {
  timeoutSeconds: number;
  action: IdleAction;
  /** Sessions are warned this long before the action. */
  warnSeconds: number;
  gpuThresholdPercent: number;
  minConnectionSeconds: number;
}

/** One look at the host. */
export interface IdleSample {
  at: number;
  /** Established SSH connections, one stable key each (local-remote address). */
  connections: readonly string[];
  /** Interactive sessions: logged-in ttys, `mlt shell`, editor sessions (`mlt ssh-server`, `mlt lsp-proxy`). */
  sessions: number;
  /** `mlt run` jobs. */
  jobs: number;
  /** The busiest GPU's utilization in percent; 0 without GPUs. */
  gpuPercent: number;
}

export interface IdleState {
  /** When each open connection was first seen (ms). */
  firstSeen: Record<string, number>;
  /** The last time anything counted as activity: the window starts here. */
  lastActiveAt: number;
  warned: boolean;
}

export type IdleStep = 'active' | 'idle' | 'warn' | 'act';

export interface IdleObservation {
  state: IdleState;
  step: IdleStep;
  /** What kept the host busy in this sample (empty: idle). */
  reasons: string[];
  idleSeconds: number;
  secondsLeft: number;
}

/** A 30-minute window warns 5 minutes ahead; a short one a third of it ahead. */
export function defaultWarnSeconds(timeoutSeconds: number): number {
  return Math.min(300, Math.max(1, Math.floor(timeoutSeconds / 3)));
}

export function initialIdleState(now: number): IdleState {
  return { firstSeen: {}, lastActiveAt: now, warned: false };
}

export function observe(previous: IdleState, sample: IdleSample, settings: IdleSettings): IdleObservation {
  const firstSeen: Record<string, number> = {};
  for (const key of sample.connections) firstSeen[key] = previous.firstSeen[key] ?? sample.at;
  const lasting = sample.connections.filter((key) => sample.at - firstSeen[key]! >= settings.minConnectionSeconds * 1000);
  const reasons = [
    ...(lasting.length ? [`${lasting.length} SSH connection${lasting.length > 1 ? 's' : ''}`] : []),
    ...(sample.sessions ? [`${sample.sessions} interactive session${sample.sessions > 1 ? 's' : ''}`] : []),
    ...(sample.jobs ? [`${sample.jobs} mlt run job${sample.jobs > 1 ? 's' : ''}`] : []),
    ...(sample.gpuPercent >= settings.gpuThresholdPercent ? [`GPU at ${sample.gpuPercent}%`] : []),
  ];
  const lastActiveAt = reasons.length ? sample.at : previous.lastActiveAt;
  const idleSeconds = Math.max(0, (sample.at - lastActiveAt) / 1000);
  const secondsLeft = Math.max(0, settings.timeoutSeconds - idleSeconds);
  const warned = reasons.length ? false : previous.warned;
  let step: IdleStep;
  if (reasons.length) step = 'active';
  else if (secondsLeft <= 0) step = 'act';
  else if (secondsLeft <= settings.warnSeconds && !warned) step = 'warn';
  else step = 'idle';
  return { state: { firstSeen, lastActiveAt, warned: warned || step === 'warn' }, step, reasons, idleSeconds: Math.round(idleSeconds), secondsLeft: Math.round(secondsLeft) };
}

/**
 * After the action: `notify` (or a stop the provider cannot do) starts a new
 * window, so the user is told once per window, not every poll.
 */
export function afterNotify(state: IdleState, now: number): IdleState {
  return { ...state, lastActiveAt: now, warned: false };
}

/** The busiest GPU, from the shared nvidia-smi reading; absent or unreadable counts as 0. */
export function busiestGpu(utilizations: ReadonlyArray<number | null>): number {
  return utilizations.reduce<number>((max, value) => (value !== null && value > max ? value : max), 0);
}
