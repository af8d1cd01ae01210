import { flagOption, stringArg, stringOption, type CommandRun } from '../../command.ts';
import { confirmer } from '../../ui/ask.ts';
import { formatTarget } from './render.ts';

export const run: CommandRun = async (context, input) => {
  const remotes = await context.app.remotes();
  const { remote, created, warnings } = remotes.add({
    alias: stringArg(input, 'ALIAS')!,
    target: stringArg(input, 'TARGET')!,
    user: stringOption(input, 'user'),
    port: stringOption(input, 'port'),
    identityFile: stringOption(input, 'identity-file'),
  });
  for (const warning of warnings) context.reporter.warn(warning);
  context.reporter.success(`${created ? 'added' : 'updated'} remote ${remote.alias} -> ${formatTarget(remote)}`);
  const confirm = confirmer(context);
  const sshConfig = await remotes.refreshSshConfig({ offerInclude: true, yes: flagOption(input, 'yes'), ...(confirm ? { confirm } : {}) });
  return { result: { action: created ? 'added' : 'updated', remote, warnings, sshConfig } };
};
