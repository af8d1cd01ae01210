import { UserError } from '../../../core/errors.ts';
import { flagOption, stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  if (input.rest.length === 0) {
    throw new UserError('USAGE', 'exec needs a command after --', 'for example: mltoolbox exec -- python train.py');
  }
  const connection = await context.app.connection();
  // The command's own exit code is ours: scripts and CI read it.
  const exitCode = await connection.execInContainer(stringArg(input, 'target'), input.rest, {
    tty: flagOption(input, 'tty'),
    interactive: !context.stdin.isTTY || flagOption(input, 'tty'),
  });
  return { result: { exitCode }, exitCode };
};
