import type { InstanceRecord } from '../../db/index.ts';
import type { IdleReading } from './idle-arm.ts';

/** What `instances list` and `status` show about a provisioned instance: uptime, spend so far, the idle timer. */
export interface InstanceView extends InstanceRecord {
  uptimeSeconds: number;
  spendUsd: number;
  /**
   * The idle action and its timeout, and what the host's watcher (mlt idle
   * watch) last reported: seconds left before the action, what keeps it busy.
   * 'unknown' when the host was not asked.
   */
  idle: { timeoutMinutes: number | null; action: string | null } & IdleReading;
  /** What the provider says now (absent: not asked, or gone). */
  providerState?: string;
}

export function instanceView(record: InstanceRecord, now: number, providerState?: string, idle: IdleReading = { watcher: 'unknown' }): InstanceView {
  const start = Date.parse(record.activeAt ?? record.createdAt);
  const end = record.endedAt ? Date.parse(record.endedAt) : now;
  const uptimeSeconds = Math.max(0, Math.round((end - start) / 1000));
  // A refused launch never billed; a stopped instance bills its disk only (not counted here).
  const billing = record.state !== 'failed' && record.state !== 'stopped';
  return {
    ...record,
    uptimeSeconds,
    spendUsd: billing ? Math.round(record.pricePerHour * (uptimeSeconds / 3600) * 100) / 100 : 0,
    idle: { timeoutMinutes: record.idleTimeoutMinutes, action: record.idleAction, ...idle },
    ...(providerState ? { providerState } : {}),
  };
}
