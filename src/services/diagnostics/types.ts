export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of the doctor report. `fix` is the command or step that resolves a warn/fail. */
export interface Check {
  /** Stable, for scripts: `host.docker-daemon`, `gpu.driver`. */
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix: string | null;
}

export interface DoctorReport {
  /** What was checked: `local`, or the host as the user named it. */
  target: string;
  checks: Check[];
}
