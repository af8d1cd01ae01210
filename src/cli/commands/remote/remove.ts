import { stringArg, type CommandRun } from '../../command.ts';
import { formatTarget } from './render.ts';

export const run: CommandRun = async (context, input) => {
  const remotes = await context.app.remotes();
  const removed = remotes.remove(stringArg(input, 'ALIAS')!);
  context.reporter.success(`removed remote ${removed.alias} (${formatTarget(removed)})`);
  await remotes.refreshSshConfig({ offerInclude: false, yes: false });
  return { result: { removed } };
};
