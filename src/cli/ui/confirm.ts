import { createInterface } from 'node:readline/promises';
import type { CommandContext } from '../command.ts';

/** A y/N question on stderr, read from stdin; undefined when nobody can answer (CI, --json, no TTY). */
export function confirmer(context: CommandContext): ((question: string) => Promise<boolean>) | undefined {
  if (!context.app.environment.interactive) return undefined;
  return async (question) => {
    const rl = createInterface({ input: context.stdin, output: context.stderr, terminal: false });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  };
}
