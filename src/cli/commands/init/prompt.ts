import { createInterface } from 'node:readline/promises';
import type { CommandContext } from '../../command.ts';

/** A numbered choice on stderr, answered on stdin; an empty or unknown answer picks the first. */
export function createChoicePrompt(context: CommandContext) {
  return async (question: string, choices: readonly string[]): Promise<string> => {
    const lines = choices.map((choice, i) => `  ${i + 1}) ${choice}`);
    context.stderr.write(`${question}\n${lines.join('\n')}\n`);
    const rl = createInterface({ input: context.stdin, output: context.stderr, terminal: false });
    try {
      const answer = (await rl.question(`choice [1-${choices.length}]: `)).trim();
      const index = Number(answer) - 1;
      if (Number.isInteger(index) && index >= 0 && index < choices.length) return choices[index]!;
      return choices.includes(answer) ? answer : choices[0]!;
    } finally {
      rl.close();
    }
  };
}
