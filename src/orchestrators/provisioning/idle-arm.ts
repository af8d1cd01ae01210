import { describeError } from '../../core/errors.ts';
import { effectiveIdleAction, type IdleAction } from '../../core/idle-action.ts';
import { shortDuration } from '../../core/duration.ts';
import { INSTANCE_NAME } from '../../core/instance-name.ts';
import type { InstanceRecord } from '../../db/index.ts';
import type { Host } from '../../services/host/types.ts';

/**
 * The laptop's half of idle auto-stop: `provision` writes the instance's idle
 * file on the host and starts `mlt idle watch` detached, so the decision and
 * the action happen on the host (a closed laptop still stops billing). The
 * provider key goes there only with the user's consent, through stdin into a
 * 0600 file — never argv, never a log. `status` and `instances list` read the
 * watcher's report back in one round trip.
 */

/** What the watcher last wrote (src/agent/idle/watch.ts IdleReport), as the CLI shows it. */
export interface IdleReading {
  watcher: 'running' | 'stopped' | 'not-armed' | 'unknown';
  step?: string;
  secondsLeft?: number;
  idleSeconds?: number;
  effectiveAction?: string;
  reasons?: string[];
  why?: string;
  lastEvent?: string;
}

export interface IdleArmRequest {
  record: InstanceRecord;
  /** The mlt executable on the host (connect installed it); none: not armed. */
  agentPath: string | undefined;
  baseUrl: string;
  canStop: boolean;
  /** The provider key, only when the user consented to place it on the host. */
  apiKey: string | undefined;
  /**
   * connect's re-arm: a watcher of this instance that still runs is left
   * alone (nothing rewritten), and without a key given now the one placed
   * earlier (with consent, at provision) is kept rather than removed.
   */
  ifStopped?: boolean;
}

export interface IdleArmResult {
  armed: boolean;
  timeoutSeconds: number;
  action: string;
  /** What will really happen: notify when the provider cannot stop or no key is on the host. */
  effectiveAction: string;
  keyOnHost: boolean;
  /** connect's re-arm found the watcher running: nothing was changed. */
  alreadyRunning?: boolean;
  /** Why the effective action is not the chosen one. */
  why?: string;
  note?: string;
}

/** The scripts' own guard: the name is a file name in the idle folder, so nothing but an instance name (INSTANCE_NAME) is taken. */
const NAME_GUARD = (arg: string) => `case "${arg}" in ""|-*|*[!a-z0-9-]*) echo "mltoolbox: not an instance name" >&2; exit 2;; esac`;

/**
 * One round trip: the idle file (from $3), the key (from stdin with consent,
 * $4 yes; kept as it is with $4 keep; else any old one is removed), an older
 * watcher of this instance ended (only if it is one), the new one started
 * detached. $5 if-stopped (connect's re-arm): a watcher of this instance that
 * still runs is left alone and the script prints "running". It prints "key"
 * when a key is on the host.
 */
const ARM_SCRIPT = [
  'umask 077',
  NAME_GUARD('$2'),
  'd="${XDG_CONFIG_HOME:-$HOME/.config}/mltoolbox/idle"; mkdir -p "$d" || exit 1',
  'agent=$1; base="$d/$2"; old=$(cat "$base.pid" 2>/dev/null)',
  'case "$(tr "\\0" " " < "/proc/${old:-none}/cmdline" 2>/dev/null)" in *" idle watch "*) watching=$old;; *) watching=;; esac',
  'if [ "$5" = if-stopped ] && [ -n "$watching" ] && [ -f "$base.json" ]; then [ -f "$base.key" ] && echo key; echo running; exit 0; fi',
  'printf "%s\\n" "$3" > "$base.json.tmp" && mv "$base.json.tmp" "$base.json" || exit 1',
  'if [ "$4" = yes ]; then cat > "$base.key.tmp" && chmod 600 "$base.key.tmp" && mv "$base.key.tmp" "$base.key" || exit 1; elif [ "$4" != keep ]; then rm -f "$base.key"; fi',
  '[ -f "$base.key" ] && echo key',
  'if [ -n "$watching" ]; then kill "$watching" 2>/dev/null || true; fi',
  'if command -v setsid >/dev/null 2>&1; then setsid "$agent" idle watch --config "$base.json" </dev/null >/dev/null 2>&1 &',
  'else nohup "$agent" idle watch --config "$base.json" </dev/null >/dev/null 2>&1 & fi',
].join('\n');

/** The report and whether its watcher still runs; exit 3 when there is none. */
export const IDLE_READ_SCRIPT = [
  NAME_GUARD('$1'),
  'f="${XDG_CONFIG_HOME:-$HOME/.config}/mltoolbox/idle/$1.state.json"',
  '[ -f "$f" ] || exit 3',
  'cat "$f"; echo',
  'pid=$(sed -n \'s/.*"pid":\\([0-9]*\\).*/\\1/p\' "$f")',
  'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo running; else echo stopped; fi',
].join('\n');

/** Removes the idle file and key: the watcher ends at its next look (terminate does this before the provider call). */
export const IDLE_DISARM_SCRIPT = `${NAME_GUARD('$1')}
d="\${XDG_CONFIG_HOME:-$HOME/.config}/mltoolbox/idle"; rm -f "$d/$1.json" "$d/$1.key"`;

export function idleSeconds(record: Pick<InstanceRecord, 'idleTimeoutMinutes'>): number {
  return Math.round((record.idleTimeoutMinutes ?? 0) * 60);
}

export async function armIdle(host: Host, request: IdleArmRequest): Promise<IdleArmResult> {
  const { record } = request;
  const timeoutSeconds = idleSeconds(record);
  const action = (record.idleAction ?? 'stop') as IdleAction;
  const keyMode = request.apiKey !== undefined ? 'yes' : request.ifStopped ? 'keep' : 'no';
  const outcome = (keyOnHost: boolean) => {
    const effective = effectiveIdleAction(action, request.canStop, keyOnHost);
    return { timeoutSeconds, action, effectiveAction: effective.action as string, keyOnHost, ...(effective.why ? { why: effective.why } : {}) };
  };
  const base = outcome(request.apiKey !== undefined);
  if (timeoutSeconds <= 0) return { ...base, armed: false, effectiveAction: 'none', note: 'idle timeout 0: never' };
  // The name becomes a file name on the host ($d/NAME.json): a ledger entry with any other is not armed.
  if (!INSTANCE_NAME.test(record.name)) return { ...base, armed: false, note: `the idle watcher was not started: ${JSON.stringify(record.name)} is not an instance name` };
  if (!request.agentPath) return { ...base, armed: false, note: 'the mlt agent is not on this host (its install was declined or failed): nothing watches for idleness; connect again with --yes to install it and arm the watcher' };
  try {
    const file = {
      name: record.name, backend: record.backend, instanceId: record.providerId, baseUrl: request.baseUrl, canStop: request.canStop,
      timeoutSeconds, action, sshPorts: [...new Set([22, record.sshPort ?? 22])],
    };
    const started = await host.exec(['sh', '-c', ARM_SCRIPT, 'mlt-idle-arm', request.agentPath, record.name, JSON.stringify(file), keyMode, request.ifStopped ? 'if-stopped' : ''],
      { input: request.apiKey ?? '', timeoutMs: 30_000 });
    if (started.exitCode !== 0) throw new Error(started.stderr.trim() || `exit ${started.exitCode}`);
    const said = started.stdout.trim().split('\n');
    return { ...outcome(said.includes('key')), armed: true, ...(said.includes('running') ? { alreadyRunning: true } : {}) };
  } catch (error) {
    return { ...base, armed: false, note: `the idle watcher was not started: ${describeError(error)}` };
  }
}

/** Parses IDLE_READ_SCRIPT's output. */
export function parseIdleReading(exitCode: number, stdout: string): IdleReading {
  if (exitCode === 3) return { watcher: 'not-armed' };
  const lines = stdout.trim().split('\n');
  const alive = lines.pop();
  try {
    const report = JSON.parse(lines.filter((l) => l.startsWith('{')).pop() ?? '') as Record<string, unknown>;
    const finished = report.step === 'done';
    return {
      watcher: alive === 'running' ? 'running' : 'stopped',
      ...(typeof report.step === 'string' ? { step: report.step } : {}),
      ...(typeof report.secondsLeft === 'number' && !finished ? { secondsLeft: report.secondsLeft } : {}),
      ...(typeof report.idleSeconds === 'number' ? { idleSeconds: report.idleSeconds } : {}),
      ...(typeof report.effectiveAction === 'string' ? { effectiveAction: report.effectiveAction } : {}),
      ...(Array.isArray(report.reasons) ? { reasons: report.reasons.filter((r): r is string => typeof r === 'string') } : {}),
      ...(typeof report.why === 'string' ? { why: report.why } : {}),
      ...(typeof report.lastEvent === 'string' ? { lastEvent: report.lastEvent } : {}),
    };
  } catch {
    return { watcher: 'unknown' };
  }
}

/** One round trip to the host; unreachable or unreadable is 'unknown', never an error. */
export async function readIdle(exec: (script: string, args: string[]) => Promise<{ exitCode: number; stdout: string }>, name: string): Promise<IdleReading> {
  try {
    const result = await exec(IDLE_READ_SCRIPT, [name]);
    return parseIdleReading(result.exitCode, result.stdout);
  } catch {
    return { watcher: 'unknown' };
  }
}

/** The IDLE column / status line. */
export function describeIdle(idle: { timeoutMinutes: number | null; action: string | null } & IdleReading): string {
  if (!idle.timeoutMinutes) return 'off';
  const window = idle.timeoutMinutes < 1 ? `${Math.round(idle.timeoutMinutes * 60)}s` : `${Math.round(idle.timeoutMinutes * 10) / 10}m`;
  const what = idle.effectiveAction ?? idle.action ?? 'stop';
  switch (idle.watcher) {
    case 'running':
      if (idle.reasons?.length) return `${what} after ${window} idle (busy: ${idle.reasons.join(', ')})`;
      return `${what} in ${shortDuration(idle.secondsLeft ?? 0)} (idle ${shortDuration(idle.idleSeconds ?? 0)})`;
    case 'stopped':
      return idle.lastEvent ? `watcher ended (${idle.lastEvent})` : `${what} after ${window} idle — the watcher is not running (reconnect to restart it)`;
    case 'not-armed':
      return `${what} after ${window} idle — not armed on the host`;
    default:
      return `${what} after ${window} idle (host not asked)`;
  }
}
