import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const connection = await context.app.connection();
  const exitCode = await connection.shell(stringArg(input, 'target'), Boolean(context.stdin.isTTY));
  return { result: { exitCode }, exitCode };
};
