/**
 * How every layer below the CLI tells the user what is going on.
 * Orchestrators and services receive a Reporter; only the CLI decides
 * whether it becomes a spinner on a TTY, plain lines on a pipe, or nothing.
 * Everything a Reporter prints goes to stderr: stdout is for results.
 */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  success(message: string): void;
  /** Shown with --verbose only. Never pass a secret. */
  debug(message: string): void;
  /** Runs long work under a spinner/task line; the line ends with ✔ or ✖. */
  task<T>(title: string, work: (task: TaskHandle) => Promise<T>): Promise<T>;
}

export interface TaskHandle {
  /** Replaces the task's detail text (e.g. "42% 1.2 MB/s"). */
  update(detail: string): void;
}

/** A Reporter that drops everything: for tests and for library use. */
export function createSilentReporter(): Reporter {
  return {
    info() {},
    warn() {},
    success() {},
    debug() {},
    task: (_title, work) => work({ update() {} }),
  };
}

/** A Reporter that records what it was told, for unit tests of orchestrators. */
export function createRecordingReporter(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info: ${m}`),
    warn: (m) => void lines.push(`warn: ${m}`),
    success: (m) => void lines.push(`success: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
    async task(title, work) {
      lines.push(`task: ${title}`);
      return work({ update: (d) => void lines.push(`task-update: ${d}`) });
    },
  };
}
