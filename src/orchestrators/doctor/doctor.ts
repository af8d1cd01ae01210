import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { isCommandNotFound, runProcess, type ProcessRunner } from '../../infrastructure/process.ts';
import { checkLocalRsync, checkSshClient, evaluateHost } from '../../services/diagnostics/checks.ts';
import { buildProbeScript, newMarker, parseProbeOutput, type ProbeSections } from '../../services/diagnostics/probe.ts';
import type { Check, DoctorReport } from '../../services/diagnostics/types.ts';
import { runFixes, type FixOptions, type FixReport, type Inspection } from './fix.ts';
import { formatTarget, resolveTarget, type RemoteSettings, type SavedRemote } from '../../services/ssh/target.ts';
import type { SshService } from '../../services/ssh/types.ts';
import type { EngineKind } from '../../services/containers/engine-socket.ts';

/** What doctor takes from the project configuration. */
export interface DoctorSettings {
  remote: RemoteSettings;
  /** environment.gpus */
  gpus: 'optional' | 'required' | 'none';
  /** environment.engine (default docker): podman and auto check Podman's API socket too. */
  engine?: EngineKind;
  /** remote.docker_socket: the engine's socket on the host, when not the usual one. */
  engineSocket?: string;
}

export type { SavedRemote };

export interface DoctorDeps {
  ssh: () => Promise<SshService>;
  reporter: Reporter;
  loadSettings: () => Promise<DoctorSettings>;
  lookupRemote?: (alias: string) => Promise<SavedRemote | undefined>;
  runner?: ProcessRunner;
  /** Runs a program on the user's terminal (sudo's password prompt); absent when we may not prompt. */
  runOnTerminal?: (command: string, args: readonly string[]) => Promise<number>;
}

export interface DoctorRequest {
  /** `local`, a saved remote, an ssh alias or `[user@]host[:port]`; default: remote.host, else `local`. */
  target?: string;
  /** False with --no-gpu. */
  gpu: boolean;
}

export const LOCAL_TARGET = 'local';
const PROBE_TIMEOUT_MS = 90_000;
/** Bound on one fix step (installing packages from a slow mirror). */
const FIX_STEP_TIMEOUT_MS = 20 * 60_000;

export interface Doctor {
  run(request: DoctorRequest): Promise<DoctorReport>;
  /** doctor --fix: probe, offer the next fix, run it when accepted, probe again; until nothing is left to fix. */
  fix(request: DoctorRequest, options: FixOptions): Promise<FixReport>;
}

export function createDoctor(deps: DoctorDeps): Doctor {
  const runner = deps.runner ?? runProcess;

  async function versionOf(command: string, args: string[]): Promise<string | undefined> {
    try {
      const result = await runner(command, args, { timeoutMs: 10_000 });
      return `${result.stdout}\n${result.stderr}`.trim();
    } catch (error) {
      if (isCommandNotFound(error)) return undefined;
      throw error;
    }
  }

  async function probeLocal(script: string): Promise<{ stdout: string; stderr: string }> {
    const result = await runner('sh', ['-s'], { input: script, timeoutMs: PROBE_TIMEOUT_MS });
    return result;
  }

  function readSections(stdout: string, stderr: string, marker: string, where: string): { sections: ProbeSections; warning?: Check } {
    const { sections, complete } = parseProbeOutput(stdout, marker);
    if (sections.size === 0) {
      throw new UserError('REMOTE_COMMAND_FAILED', `the doctor probe printed no report on ${where}`,
        'the login shell may exit early or not be POSIX-compatible; run mltoolbox doctor --verbose and check your shell start-up files',
        { details: stderr.split('\n').filter(Boolean).slice(-5) });
    }
    if (complete) return { sections };
    return {
      sections,
      warning: { id: 'host.probe', title: 'Probe', status: 'warn', detail: 'the probe stopped before the end; later checks may be missing', fix: 'run mltoolbox doctor --verbose to see the probe output' },
    };
  }

  /** One probe of the target: the report, the raw sections (for --fix), and how to run a command there. */
  async function inspect(request: DoctorRequest): Promise<Inspection> {
    const settings = await deps.loadSettings();
    const text = request.target ?? settings.remote.host ?? LOCAL_TARGET;
    const gpuSkipReason = !request.gpu ? 'skipped (--no-gpu)' : settings.gpus === 'none' ? 'skipped (environment.gpus: none)' : undefined;
    const engine = settings.engine ?? 'docker';
    const hostOptions = { gpu: gpuSkipReason === undefined, gpusRequired: settings.gpus === 'required', engine, ...(gpuSkipReason ? { gpuSkipReason } : {}) };
    const marker = newMarker();
    const script = buildProbeScript({ marker, gpu: hostOptions.gpu, engine: { kind: engine, ...(settings.engineSocket ? { socket: settings.engineSocket } : {}) } });
    if (request.target === undefined && settings.remote.host === undefined) {
      deps.reporter.info('no remote.host configured: checking this machine (pass a host to check it: mltoolbox doctor HOST)');
    }

    if (text === LOCAL_TARGET) {
      const output = await deps.reporter.task('checking this machine', () => probeLocal(script));
      deps.reporter.debug(`probe output:\n${output.stdout}`);
      const { sections, warning } = readSections(output.stdout, output.stderr, marker, 'this machine');
      const checks = evaluateHost(sections, { ...hostOptions, local: true, connection: 'this machine (no ssh)' });
      return {
        report: { target: LOCAL_TARGET, checks: warning ? [...checks, warning] : checks },
        sections,
        local: true,
        execute: async (command, tty) => {
          if (tty && deps.runOnTerminal) return { code: await deps.runOnTerminal('sh', ['-c', command]), output: '' };
          const result = await runner('sh', ['-c', command], { timeoutMs: FIX_STEP_TIMEOUT_MS });
          return { code: result.code ?? 1, output: `${result.stdout}${result.stderr}` };
        },
        reconnect: async () => {},
      };
    }

    const target = resolveTarget(text, settings.remote, await deps.lookupRemote?.(text));
    const label = formatTarget(target);
    const ssh = await deps.ssh();
    const resolved = await ssh.resolve(target);
    const client = Promise.all([versionOf('ssh', ['-V']), versionOf('rsync', ['--version'])]);

    const { checks, sections } = await deps.reporter.task(`checking ${label}`, async (task) => {
      task.update('connecting');
      const started = Date.now();
      const wasOpen = await ssh.check(target);
      await ssh.connect(target);
      const connection = `${resolved.user}@${resolved.hostname}:${resolved.port}${wasOpen ? ' (shared connection already open)' : ` (connected in ${Date.now() - started} ms)`}`;
      task.update('probing');
      const result = await ssh.execScript(target, script, { timeoutMs: PROBE_TIMEOUT_MS, check: false });
      deps.reporter.debug(`probe output:\n${result.stdout}\nprobe stderr:\n${result.stderr}`);
      const { sections, warning } = readSections(result.stdout, result.stderr, marker, label);
      const [sshVersion, rsyncVersion] = await client;
      const checks = [
        checkSshClient(sshVersion),
        checkLocalRsync(rsyncVersion),
        ...evaluateHost(sections, { ...hostOptions, local: false, connection }),
        ...(warning ? [warning] : []),
      ];
      // A new docker group membership only applies to new logins: drop the shared one.
      if (checks.some((c) => c.id === 'host.docker-daemon' && /permission denied/.test(c.detail))) await ssh.closeMaster(target);
      return { checks, sections };
    });
    return {
      report: { target: label, checks },
      sections,
      local: false,
      execute: async (command, tty) => {
        // On a terminal: ssh -t, so sudo asks for the password there. Else through the shared connection.
        if (tty && deps.runOnTerminal) return { code: await deps.runOnTerminal('ssh', ['-t', ...ssh.sshArgs(target), command]), output: '' };
        const result = await ssh.execScript(target, command, { timeoutMs: FIX_STEP_TIMEOUT_MS, check: false });
        return { code: result.code, output: `${result.stdout}${result.stderr}` };
      },
      reconnect: () => ssh.closeMaster(target),
    };
  }

  return {
    run: async (request) => (await inspect(request)).report,
    fix: (request, options) => runFixes(inspect, request, options, deps.reporter),
  };
}

/** Exit status and summary for a report: failures fail, warnings do not. */
export function summarize(report: DoctorReport): { failed: number; warned: number; ok: boolean } {
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  return { failed, warned, ok: failed === 0 };
}
