import type { CommandRun } from '../../command.ts';

export const run: CommandRun = async (context) => {
  const config = await context.app.config();
  const schema = config.schema();
  return { result: schema, human: () => JSON.stringify(schema, null, 2) };
};
