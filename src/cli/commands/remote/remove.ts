import { stringArg, type CommandRun } from '../../command.ts';
import { openRemotes } from './open-remotes.ts';
import { formatTarget } from './render.ts';
import { refreshSshConfig } from './ssh-config.ts';

export const run: CommandRun = async (context, input) => {
  const remotes = await openRemotes(context);
  const removed = remotes.remove(stringArg(input, 'ALIAS')!);
  context.reporter.success(`removed remote ${removed.alias} (${formatTarget(removed)})`);
  await refreshSshConfig(context, { offerInclude: false, yes: false });
  return { result: { removed } };
};
