import type { CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const words = (Array.isArray(input.args.COMMAND) ? input.args.COMMAND : [input.args.COMMAND ?? '']).filter(Boolean);
  const done = await (await context.app.pluginCommands()).run(words, input.rest);
  return {
    result: { plugin: done.plugin, command: done.command, result: done.outcome.result ?? null },
    human: () => done.outcome.human ?? '',
    ...(done.outcome.exitCode !== undefined ? { exitCode: done.outcome.exitCode } : {}),
  };
};
