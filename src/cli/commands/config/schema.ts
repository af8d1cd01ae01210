import type { CommandRun } from '../../command.ts';

export const run: CommandRun = async (context) => {
  const config = await context.app.config();
  // Every available plugin's section, so editors complete the one you are about to enable.
  const schema = await config.schema(await (await context.app.plugins()).schemaSections());
  return { result: schema, human: () => JSON.stringify(schema, null, 2) };
};
