import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Sees what one mltoolbox run does, from outside: PATH shims for `ssh` and
 * `rsync` log each invocation (start, end, argv), and a Node --import hook
 * logs the process's life and its HTTP (Docker API) requests. All times are
 * wall-clock seconds from one clock, so they line up.
 */
export interface TraceEvent {
  kind: 'ssh-resolve' | 'ssh-mux' | 'ssh-master' | 'ssh-remote' | 'ssh-rsync' | 'rsync' | 'docker-api';
  label: string;
  /** Milliseconds since the mltoolbox process started. */
  start: number;
  end: number;
}

export interface Trace {
  /** Whole process, from Node's start to exit, ms. */
  processMs: number;
  /** Node start-up until the first line of our hook ran (before mltoolbox's own code), ms. */
  nodeStartMs: number;
  events: TraceEvent[];
  /** Remote work that waits on the network: remote ssh commands, rsync transports, Docker API calls. */
  networkEvents: TraceEvent[];
  /** networkEvents grouped where they overlap in time: round trips made one after another. */
  sequentialRoundTrips: number;
  /** ssh processes that authenticate a new connection (-N -f masters, or a command with no master). */
  sshMasters: number;
  sshInvocations: number;
}

const HOOK = fileURLToPath(new URL('./trace-hook.ts', import.meta.url));

function which(program: string): string {
  return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
}

function shim(realPath: string, tool: string): string {
  // $EPOCHREALTIME costs no fork; the real program is not exec'd so its end can be logged.
  return [
    '#!/bin/bash',
    `printf 'X start %s %s ${tool} %s\\n' "$EPOCHREALTIME" "$$" "$*" >> "$MLT_BENCH_TRACE"`,
    ...(tool === 'rsync' ? [`printf '%s\\0' "$@" > "$MLT_BENCH_TRACE.argv.$$"`] : []),
    `${JSON.stringify(realPath)} "$@"`,
    'rc=$?',
    `printf 'X end %s %s %s\\n' "$EPOCHREALTIME" "$$" "$rc" >> "$MLT_BENCH_TRACE"`,
    'exit $rc',
    '',
  ].join('\n');
}

export class Tracer {
  readonly dir: string;
  readonly file: string;

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, 'trace.log');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['ssh', 'rsync']) {
      writeFileSync(join(bin, tool), shim(which(tool), tool));
      chmodSync(join(bin, tool), 0o755);
    }
  }

  /** The environment additions that turn tracing on for a run. */
  env(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return {
      ...base,
      PATH: `${join(this.dir, 'bin')}${delimiter}${base.PATH ?? ''}`,
      NODE_OPTIONS: `${base.NODE_OPTIONS ?? ''} --import=${HOOK}`.trim(),
      MLT_BENCH_TRACE: this.file,
    };
  }

  reset(): void {
    rmSync(this.file, { force: true });
    for (const name of readdirSync(this.dir)) if (name.startsWith('trace.log.argv.')) rmSync(join(this.dir, name), { force: true });
  }

  /** The argv of each rsync run of the last traced command, in start order. */
  rsyncArgvs(): string[][] {
    if (!existsSync(this.file)) return [];
    const pids = readFileSync(this.file, 'utf8').split('\n').filter((l) => l.startsWith('X start ') && l.split(' ')[4] === 'rsync').map((l) => l.split(' ')[3]!);
    return pids.map((pid) => readFileSync(`${this.file}.argv.${pid}`, 'utf8').split('\0').slice(0, -1));
  }

  read(): Trace {
    const lines = existsSync(this.file) ? readFileSync(this.file, 'utf8').split('\n').filter(Boolean) : [];
    let t0 = Number.NaN;
    let hook = Number.NaN;
    let exit = Number.NaN;
    const open = new Map<string, { kind: TraceEvent['kind']; label: string; start: number }>();
    const raw: Array<{ kind: TraceEvent['kind']; label: string; start: number; end: number }> = [];
    for (const line of lines) {
      const [type, phase, time, id, ...rest] = line.split(' ');
      const t = Number(time) * 1000;
      if (type === 'P') {
        // The first process is mltoolbox (nothing it runs is Node).
        if (phase === 'start' && Number.isNaN(t0)) t0 = t;
        if (phase === 'hook' && Number.isNaN(hook)) hook = t;
        if (phase === 'exit') exit = t;
      } else if (type === 'H' && phase === 'start') {
        open.set(`H${id}`, { kind: 'docker-api', label: rest.join(' ').replace(/^(\w+) \/v[\d.]+/, '$1 '), start: t });
      } else if (type === 'X' && phase === 'start') {
        const [tool, ...args] = rest;
        open.set(`X${id}`, { ...classify(tool!, args), start: t });
      } else if (phase === 'end') {
        const key = `${type}${id}`;
        const started = open.get(key);
        if (started) raw.push({ ...started, end: t });
        open.delete(key);
      }
    }
    const events = raw.map((e) => ({ ...e, start: e.start - t0, end: e.end - t0 })).sort((a, b) => a.start - b.start);
    const networkEvents = events.filter((e) => e.kind === 'ssh-remote' || e.kind === 'ssh-rsync' || e.kind === 'docker-api' || e.kind === 'ssh-master');
    const roundTrips = networkEvents.filter((e) => e.kind !== 'ssh-master');
    return {
      processMs: exit - t0,
      nodeStartMs: hook - t0,
      events,
      networkEvents,
      sequentialRoundTrips: overlapGroups(roundTrips),
      sshMasters: events.filter((e) => e.kind === 'ssh-master').length,
      sshInvocations: events.filter((e) => e.kind.startsWith('ssh-')).length,
    };
  }
}

function classify(tool: string, args: string[]): { kind: TraceEvent['kind']; label: string } {
  if (tool === 'rsync') return { kind: 'rsync', label: args.includes('--version') ? 'rsync --version' : 'rsync (local process)' };
  const has = (flag: string) => args.includes(flag);
  if (has('-G')) return { kind: 'ssh-resolve', label: 'ssh -G (reads config, local)' };
  const op = args.indexOf('-O');
  if (op >= 0) return { kind: 'ssh-mux', label: `ssh -O ${args[op + 1]} (control socket, local)` };
  if (has('-N') && has('-f')) return { kind: 'ssh-master', label: 'ssh -N -f (new master connection)' };
  if (args.join(' ').includes('rsync --server')) return { kind: 'ssh-rsync', label: 'ssh rsync --server (transfer)' };
  const dash = args.lastIndexOf('--');
  const remote = dash >= 0 ? args.slice(dash + 2).join(' ') : '';
  return { kind: 'ssh-remote', label: `ssh remote: ${remote.slice(0, 40) || '(stdin script)'}` };
}

/** How many runs of overlapping intervals: work in one group ran in parallel, groups ran in sequence. */
export function overlapGroups(events: readonly { start: number; end: number }[]): number {
  const sorted = [...events].sort((a, b) => a.start - b.start);
  let groups = 0;
  let reach = Number.NEGATIVE_INFINITY;
  for (const e of sorted) {
    if (e.start > reach) groups++;
    reach = Math.max(reach, e.end);
  }
  return groups;
}
