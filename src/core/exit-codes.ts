/**
 * Process exit codes. Scripts rely on these: never renumber one, only add.
 * docs/errors.md documents each; test/unit/core/errors.test.ts keeps them in step.
 */
export const ExitCode = {
  ok: 0,
  /** The user asked for something that cannot be done as asked (see the hint). */
  userError: 1,
  /** Bad command line: unknown command or option, missing argument. */
  usage: 2,
  /** Invalid configuration (mltoolbox.yaml, devcontainer.json, user config). */
  config: 3,
  /** A host could not be reached or refused us (ssh, docker daemon, cloud API). */
  unreachable: 4,
  /** A check-style command (doctor) found failing checks. */
  checksFailed: 5,
  /** A command we ran on the host or in the container failed; its own output explains. */
  remoteCommandFailed: 6,
  /** A bug in mltoolbox: a stack trace was printed, please report it. */
  internal: 70,
  /** Interrupted by Ctrl-C or SIGTERM. */
  interrupted: 130,
} as const;

export type ExitCodeName = keyof typeof ExitCode;
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName];
