import { ErrorCodes, type ErrorCode } from './error-codes.ts';
import type { ExitCodeValue } from './exit-codes.ts';

export { ErrorCodes, type ErrorCode } from './error-codes.ts';
export { ExitCode, type ExitCodeValue } from './exit-codes.ts';

export interface UserErrorOptions {
  /** Extra lines shown under the message (e.g. each config problem with its position). */
  details?: readonly string[];
  /** Structured data for `--json` consumers. Must never hold a secret. */
  data?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An error the user can act on: a stable code, a one-line message saying
 * what happened, and a hint saying what to do next. The CLI prints it
 * without a stack trace and exits with the code's exit status.
 */
export class UserError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: readonly string[];
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, hint: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.code = code;
    this.hint = hint;
    this.details = options.details ?? [];
    this.data = options.data;
  }

  get exitCode(): ExitCodeValue {
    return ErrorCodes[this.code].exit;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** A short, single-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
