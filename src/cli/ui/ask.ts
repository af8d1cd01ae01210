import { createInterface } from 'node:readline/promises';
import type { CommandContext } from '../command.ts';

/** A yes/no question on stderr, answered on stdin; anything but y/yes is no. */
export async function askYesNo(context: CommandContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: context.stdin, output: context.stderr, terminal: false });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** `askYesNo` bound to this command; undefined when nobody can answer (CI, --json, no TTY). */
export function confirmer(context: CommandContext): ((question: string) => Promise<boolean>) | undefined {
  if (!context.app.environment.interactive) return undefined;
  return (question) => askYesNo(context, question);
}
