import { existsSync, readFileSync, statSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { effectiveIdleAction } from '../../core/idle-action.ts';
import { INSTANCE_NAME } from '../../core/instance-name.ts';
import { processAlive } from '../../infrastructure/file-lock.ts';
import { afterNotify, defaultWarnSeconds, initialIdleState, observe, type IdleAction, type IdleObservation, type IdleSettings, type IdleState } from './decide.ts';
import { createHostReaders, sample, writeToTerminals, type HostReaders } from './probe.ts';

/**
 * `mlt idle watch|status`: the host side of idle auto-stop. `mltoolbox
 * provision` (and every connect to a provisioned instance) writes the
 * instance's idle file and starts the watcher detached, so a closed laptop
 * still stops billing. Files, one set per instance, in
 * ~/.config/mltoolbox/idle/ (0600): NAME.json (settings), NAME.key (the
 * provider API key, only with the user's consent), NAME.state.json (what
 * `mltoolbox status` and `instances list` read), NAME.log.
 */
export const IDLE_HELP = `mlt idle — idle auto-stop for a provisioned instance (started by mltoolbox provision)

Usage: mlt idle watch --config FILE     watch this host; warn, then act when idle
       mlt idle status [--config FILE | --name NAME] [--json]

Idle: no SSH connection that lasted 10 s or more, no logged-in terminal, no mlt shell /
ssh-server / lsp-proxy session, no mlt run job, every GPU under the threshold — for the
whole window. Sessions are warned before the action. Removing FILE ends the watcher.`;

export interface IdleFile {
  name: string;
  backend: string;
  instanceId: string;
  baseUrl: string;
  canStop: boolean;
  timeoutSeconds: number;
  action: IdleAction;
  warnSeconds?: number;
  gpuThresholdPercent?: number;
  minConnectionSeconds?: number;
  pollSeconds?: number;
  sshPorts: number[];
}

export interface IdleReport {
  name: string;
  pid: number;
  updatedAt: string;
  step: IdleObservation['step'] | 'done' | 'failed';
  reasons: string[];
  idleSeconds: number;
  secondsLeft: number;
  timeoutSeconds: number;
  action: IdleAction;
  /** What will happen: the chosen action, or notify when the provider or a missing key cannot do it. */
  effectiveAction: IdleAction;
  why?: string;
  lastEvent?: string;
}

export function idleDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'mltoolbox', 'idle');
}

export const siblings = (config: string) => {
  const base = config.replace(/\.json$/, '');
  return { key: `${base}.key`, state: `${base}.state.json`, log: `${base}.log`, pid: `${base}.pid` };
};

export function readIdleFile(path: string): IdleFile {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<IdleFile>;
  const ok = typeof raw.name === 'string' && typeof raw.backend === 'string' && typeof raw.instanceId === 'string' && typeof raw.baseUrl === 'string'
    && typeof raw.timeoutSeconds === 'number' && raw.timeoutSeconds > 0 && ['stop', 'terminate', 'notify'].includes(raw.action as string)
    && Array.isArray(raw.sshPorts) && raw.sshPorts.every((p) => Number.isInteger(p)) && INSTANCE_NAME.test(raw.name as string);
  if (!ok) throw new Error(`${path} is not an idle file written by mltoolbox provision`);
  return raw as IdleFile;
}

export function settingsOf(file: IdleFile): IdleSettings & { pollMs: number } {
  const timeoutSeconds = file.timeoutSeconds;
  return {
    timeoutSeconds,
    action: file.action,
    warnSeconds: file.warnSeconds ?? defaultWarnSeconds(timeoutSeconds),
    gpuThresholdPercent: file.gpuThresholdPercent ?? 10,
    minConnectionSeconds: file.minConnectionSeconds ?? 10,
    pollMs: Math.round(1000 * (file.pollSeconds ?? Math.min(30, Math.max(1, timeoutSeconds / 10)))),
  };
}

/** After the n-th failed provider call in a row: 5 s or the poll interval, doubling, at most 10 minutes. */
export function retryMs(pollMs: number, failures: number): number {
  return Math.min(10 * 60_000, Math.max(pollMs, 5000) * 2 ** Math.min(Math.max(failures - 1, 0), 10));
}

/** The provider call, through the backends layer; the key never leaves the file or reaches argv. */
export type IdleActor = (file: IdleFile, action: 'stop' | 'terminate', apiKey: string) => Promise<void>;

const providerActor: IdleActor = async (file, action, apiKey) => {
  const { createBackendRegistry } = await import('../../backends/registry.ts');
  const backend = createBackendRegistry().get(file.backend).create({ apiKey, baseUrl: file.baseUrl });
  if (action === 'stop' && backend.stop) await backend.stop(file.instanceId);
  else await backend.terminate(file.instanceId);
};

function readKey(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  // A key others can read is not used: the user is told in the log instead.
  if ((statSync(path).mode & 0o077) !== 0) throw new Error(`${path} is readable by others (chmod 600 it)`);
  return readFileSync(path, 'utf8').trim() || undefined;
}

export interface WatchDeps {
  readers?: HostReaders;
  act?: IdleActor;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Bound for tests; default: until the action is done or the idle file is removed. */
  maxTicks?: number;
}

/** The loop: sample, decide, warn, act; the report is rewritten every tick (atomically). */
export async function watchIdle(configPath: string, env: NodeJS.ProcessEnv, deps: WatchDeps = {}): Promise<IdleReport> {
  const readers = deps.readers ?? createHostReaders(env);
  const act = deps.act ?? providerActor;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const files = siblings(configPath);
  const log = (line: string) => appendFile(files.log, `${new Date(now()).toISOString()} ${line}\n`, { mode: 0o600 }).catch(() => {});
  await writeFile(files.pid, `${process.pid}\n`, { mode: 0o600 });
  let state: IdleState = initialIdleState(now());
  let lastEvent: string | undefined;
  let report: IdleReport | undefined;
  /** Provider calls that failed in a row: the next try waits twice as long each time (a bad key must not call every 5 s, and log it, for days). */
  let failures = 0;
  await log(`watching (pid ${process.pid})`);
  let lastGood: IdleFile | undefined;
  for (let tick = 0; deps.maxTicks === undefined || tick < deps.maxTicks; tick++) {
    if (!existsSync(configPath)) {
      await log('idle file removed: watcher ends');
      break;
    }
    let file: IdleFile;
    try {
      file = readIdleFile(configPath);
      lastGood = file;
    } catch (error) {
      // Removed just now: the watcher ends above next time. Damaged: the settings it last read stand (billing must still stop).
      if (!lastGood) throw error;
      if (existsSync(configPath)) await log(`cannot read ${configPath} (${(error as Error).message}): keeping the settings read before`);
      file = lastGood;
    }
    const settings = settingsOf(file);
    let key: string | undefined;
    let keyProblem: string | undefined;
    try {
      key = readKey(files.key);
    } catch (error) {
      keyProblem = (error as Error).message;
    }
    const chosen = effectiveIdleAction(file.action, file.canStop, key !== undefined);
    const seen = await sample(readers, new Set(file.sshPorts), now());
    const observed = observe(state, seen, settings);
    state = observed.state;
    const what = chosen.action === 'notify' ? 'nothing will be stopped (notify only)' : `this instance will be ${chosen.action === 'stop' ? 'stopped' : 'terminated'}`;
    if (observed.step === 'warn') {
      const message = `${file.name} has been idle for ${observed.idleSeconds} s; in ${observed.secondsLeft} s ${what}. Any SSH session, terminal or GPU work keeps it.`;
      const reached = writeToTerminals(seen.ttys, message);
      lastEvent = `warned ${reached} terminal(s)`;
      await log(`warning: ${message} (${reached} terminal(s))`);
    }
    let step: IdleReport['step'] = observed.step;
    if (observed.step === 'act') {
      if (chosen.action === 'notify') {
        const message = `${file.name} has been idle for ${Math.round(settings.timeoutSeconds)} s and is still billing: ${chosen.why ?? 'idle_action is notify'}. Stop it with: mltoolbox instances stop|terminate ${file.name}`;
        writeToTerminals(seen.ttys, message);
        lastEvent = 'notified';
        await log(`notify: ${message}`);
        state = afterNotify(state, now());
      } else {
        try {
          await act(file, chosen.action, key!);
          lastEvent = chosen.action === 'stop' ? 'stopped' : 'terminated';
          step = 'done';
          await log(`${lastEvent} ${file.backend} instance ${file.instanceId} after ${observed.idleSeconds} s idle`);
        } catch (error) {
          failures++;
          lastEvent = `${chosen.action} failed: ${(error as Error).message}`;
          step = 'failed';
          await log(`${lastEvent} (try ${failures}; next in ${Math.round(retryMs(settings.pollMs, failures) / 1000)} s)`);
        }
      }
    }
    report = {
      name: file.name, pid: process.pid, updatedAt: new Date(now()).toISOString(), step, reasons: observed.reasons,
      idleSeconds: observed.idleSeconds, secondsLeft: observed.secondsLeft, timeoutSeconds: settings.timeoutSeconds,
      action: file.action, effectiveAction: chosen.action, ...(chosen.why || keyProblem ? { why: keyProblem ?? chosen.why } : {}),
      ...(lastEvent ? { lastEvent } : {}),
    };
    try {
      await writeFile(`${files.state}.tmp`, JSON.stringify(report), { mode: 0o600 });
      await rename(`${files.state}.tmp`, files.state);
    } catch (error) {
      // A full disk hides the report from `status`; it must not stop the watcher (and the billing stop with it).
      await log(`cannot write ${files.state}: ${(error as Error).message}`);
    }
    if (step === 'done') break;
    if (observed.step === 'active') failures = 0;
    await sleep(step === 'failed' ? retryMs(settings.pollMs, failures) : settings.pollMs);
  }
  return report!;
}

/** `mlt idle …`; returns the exit code. */
export async function idleCommand(argv: readonly string[], io: { env: NodeJS.ProcessEnv; out: (text: string) => void; err: (text: string) => void }): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out(`${IDLE_HELP}\n`);
    return sub === undefined ? 2 : 0;
  }
  let values: { config?: string; name?: string; json?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    io.err(`error: ${(error as Error).message}\nhint: mlt idle --help\n`);
    return 2;
  }
  const config = values.config ?? (values.name && INSTANCE_NAME.test(values.name) ? join(idleDir(io.env), `${values.name}.json`) : undefined);
  if (!config) {
    io.err('error: give --config FILE or --name NAME\nhint: mlt idle --help\n');
    return 2;
  }
  if (sub === 'watch') {
    try {
      readIdleFile(config);
      const report = await watchIdle(config, io.env);
      return report?.step === 'done' || !existsSync(config) ? 0 : 1;
    } catch (error) {
      io.err(`error: ${(error as Error).message}\n`);
      return 1;
    }
  }
  if (sub === 'status') {
    const statePath = siblings(config).state;
    let report: IdleReport | null = null;
    try {
      report = JSON.parse(readFileSync(statePath, 'utf8')) as IdleReport;
    } catch {
      report = null;
    }
    const running = report !== null && processAlive(report.pid);
    const result = report ? { ...report, running } : null;
    if (values.json) io.out(`${JSON.stringify({ ok: true, command: 'idle status', result, error: null })}\n`);
    else io.out(report ? `${report.name}: ${report.step}, idle ${report.idleSeconds} s, ${report.effectiveAction} in ${report.secondsLeft} s${running ? '' : ' (watcher not running)'}\n` : `no idle watcher has reported in ${dirname(statePath)}\n`);
    return 0;
  }
  io.err(`error: unknown 'mlt idle ${sub}'\nhint: mlt idle --help\n`);
  return 2;
}
