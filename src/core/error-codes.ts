import { ExitCode, type ExitCodeValue } from './exit-codes.ts';

/**
 * Every stable error code a user can see, with its exit code.
 * Codes are part of the interface (scripts match on `--json` error.code):
 * add new ones, never rename. Each must be documented in docs/errors.md
 * (a unit test checks). Keep one block per area, in the area's order.
 */
export const ErrorCodes = {
  // --- command line -------------------------------------------------------
  USAGE: { exit: ExitCode.usage },
  UNKNOWN_COMMAND: { exit: ExitCode.usage },
  NODE_TOO_OLD: { exit: ExitCode.userError },
  INTERRUPTED: { exit: ExitCode.interrupted },
  INTERNAL: { exit: ExitCode.internal },
  PROJECT_DIR_NOT_FOUND: { exit: ExitCode.userError },

  // --- ssh / hosts --------------------------------------------------------
  SSH_NOT_INSTALLED: { exit: ExitCode.userError },
  SSH_UNREACHABLE: { exit: ExitCode.unreachable },
  SSH_AUTH_FAILED: { exit: ExitCode.unreachable },
  SSH_HOST_KEY_CHANGED: { exit: ExitCode.unreachable },
  SSH_HOST_KEY_UNKNOWN: { exit: ExitCode.unreachable },
  SSH_TIMEOUT: { exit: ExitCode.unreachable },
  SSH_CONFIG_NOT_FOUND: { exit: ExitCode.userError },
  REMOTE_COMMAND_FAILED: { exit: ExitCode.remoteCommandFailed },

  // --- doctor ---------------------------------------------------------------
  CHECKS_FAILED: { exit: ExitCode.checksFailed },

  // --- configuration --------------------------------------------------------
  CONFIG_INVALID: { exit: ExitCode.config },
  CONFIG_UNREADABLE: { exit: ExitCode.config },
  CONFIG_EXISTS: { exit: ExitCode.userError },
  CONFIG_KEY_UNKNOWN: { exit: ExitCode.usage },
  DEVCONTAINER_AMBIGUOUS: { exit: ExitCode.config },
  DEVCONTAINER_NOT_FOUND: { exit: ExitCode.config },
  DEVCONTAINER_UNSUPPORTED: { exit: ExitCode.config },
  INTERPOLATION_FAILED: { exit: ExitCode.config },
  ENV_FILE_UNREADABLE: { exit: ExitCode.config },
  PROFILE_UNKNOWN: { exit: ExitCode.config },

  // --- secrets --------------------------------------------------------------
  SECRET_NOT_FOUND: { exit: ExitCode.userError },
  SECRET_NAME_INVALID: { exit: ExitCode.usage },
  SECRET_VALUE_EMPTY: { exit: ExitCode.userError },
  SECRET_PASSPHRASE_REQUIRED: { exit: ExitCode.userError },
  SECRET_PASSPHRASE_WRONG: { exit: ExitCode.userError },
  SECRET_STORE_CORRUPT: { exit: ExitCode.userError },
  SECRET_STORE_UNAVAILABLE: { exit: ExitCode.userError },
} as const satisfies Record<string, { exit: ExitCodeValue }>;

export type ErrorCode = keyof typeof ErrorCodes;
