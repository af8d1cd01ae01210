import type { InstanceRecord } from '../../db/index.ts';

/** What `instances list` and `status` show about a provisioned instance: uptime, spend so far, the idle timer. */
export interface InstanceView extends InstanceRecord {
  uptimeSeconds: number;
  spendUsd: number;
  /**
   * The idle action and its timeout. The host agent (mlt) measures idleness
   * and acts, so a closed laptop still stops billing; until it runs on the
   * host, minutesLeft is unknown and nothing acts.
   */
  idle: { timeoutMinutes: number | null; action: string | null; agent: 'not-installed'; minutesLeft: null };
  /** What the provider says now (absent: not asked, or gone). */
  providerState?: string;
}

export function instanceView(record: InstanceRecord, now: number, providerState?: string): InstanceView {
  const start = Date.parse(record.activeAt ?? record.createdAt);
  const end = record.endedAt ? Date.parse(record.endedAt) : now;
  const uptimeSeconds = Math.max(0, Math.round((end - start) / 1000));
  // A refused launch never billed; a stopped instance bills its disk only (not counted here).
  const billing = record.state !== 'failed' && record.state !== 'stopped';
  return {
    ...record,
    uptimeSeconds,
    spendUsd: billing ? Math.round(record.pricePerHour * (uptimeSeconds / 3600) * 100) / 100 : 0,
    idle: { timeoutMinutes: record.idleTimeoutMinutes, action: record.idleAction, agent: 'not-installed', minutesLeft: null },
    ...(providerState ? { providerState } : {}),
  };
}
