import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const connection = await context.app.connection();
  const result = await connection.fetch(stringArg(input, 'target'), stringArg(input, 'remote_path')!, stringArg(input, 'local_path'));
  return { result, human: () => `${result.summary.filesTransferred} file(s) fetched from ${result.target} (${result.summary.bytes} bytes)` };
};
