import type { Writable } from 'node:stream';
import { UserError } from '../core/errors.ts';
import { printableText } from '../core/terminal-text.ts';
import type { Style } from './ui/style.ts';

/**
 * stdout carries only results: human text, or with --json exactly one
 * envelope per run. Scripts parse `ok`, then `result` or `error.code`.
 */
export interface JsonEnvelope {
  ok: boolean;
  command: string;
  result: unknown;
  error: { code: string; message: string; hint: string; details?: readonly string[]; data?: Record<string, unknown> } | null;
}

export function writeJson(stdout: Writable, envelope: JsonEnvelope): void {
  stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
}

export function errorEnvelope(error: UserError) {
  return {
    code: error.code,
    message: error.message,
    hint: error.hint,
    ...(error.details.length ? { details: error.details } : {}),
    ...(error.data ? { data: error.data } : {}),
  };
}

/** The human form of a user error, on stderr: what happened, then what to do. */
export function renderUserError(error: UserError, style: Style): string {
  // Messages quote user input (names, config lines, remote output): no control character reaches the terminal.
  const lines = [`${style.red('error:')} ${printableText(error.message)} ${style.dim(`[${error.code}]`)}`];
  for (const detail of error.details) lines.push(`  ${printableText(detail)}`);
  lines.push(`${style.cyan('hint:')} ${printableText(error.hint)}`);
  return lines.join('\n');
}

export function renderInternalError(error: unknown, style: Style): string {
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return [
    `${style.red('internal error:')} this is a bug in mltoolbox, not something you did.`,
    printableText(stack),
    `${style.cyan('hint:')} please report it with the lines above and 'mltoolbox --version' at https://github.com/mltoolbox/mltoolbox/issues`,
  ].join('\n');
}
