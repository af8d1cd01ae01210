import { UserError } from '../../../core/errors.ts';
import { flagOption, stringArg, stringOption, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const tailText = stringOption(input, 'tail');
  const tail = tailText === undefined ? undefined : Number(tailText);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UserError('USAGE', `--tail ${tailText} is not a number of lines`, 'for example: --tail 100');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    const connection = await context.app.connection();
    await connection.logs(stringArg(input, 'target'), { follow: flagOption(input, 'follow'), ...(tail !== undefined ? { tail } : {}), signal: controller.signal },
      (stream, data) => (stream === 'stdout' ? context.stdout : context.stderr).write(data));
  } finally {
    process.off('SIGINT', stop);
  }
  return {};
};
