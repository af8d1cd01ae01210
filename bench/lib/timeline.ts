import { markdownTable } from './report.ts';
import type { Trace } from './trace.ts';

/** One traced run as a table: what ran when, relative to the process start. */
export function timelineTable(trace: Trace): string {
  const rows: (string | number)[][] = [['node start-up (before mltoolbox code)', '0', trace.nodeStartMs.toFixed(0), trace.nodeStartMs.toFixed(0)]];
  for (const e of trace.events) rows.push([e.label, e.start.toFixed(0), e.end.toFixed(0), (e.end - e.start).toFixed(0)]);
  rows.push(['process exit', '', trace.processMs.toFixed(0), '']);
  return markdownTable(['step', 'start ms', 'end ms', 'took ms'], rows);
}

/** Sums of the time spent in each kind of step (overlaps counted once per kind). */
export function timeByKind(trace: Trace): Record<string, number> {
  const byKind: Record<string, number> = {};
  for (const e of trace.events) byKind[e.kind] = (byKind[e.kind] ?? 0) + (e.end - e.start);
  return byKind;
}
