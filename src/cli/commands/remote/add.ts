import { flagOption, stringArg, stringOption, type CommandRun } from '../../command.ts';
import { openRemotes } from './open-remotes.ts';
import { formatTarget } from './render.ts';
import { refreshSshConfig } from './ssh-config.ts';

export const run: CommandRun = async (context, input) => {
  const remotes = await openRemotes(context);
  const { remote, created, warnings } = remotes.add({
    alias: stringArg(input, 'ALIAS')!,
    target: stringArg(input, 'TARGET')!,
    user: stringOption(input, 'user'),
    port: stringOption(input, 'port'),
    identityFile: stringOption(input, 'identity-file'),
  });
  for (const warning of warnings) context.reporter.warn(warning);
  context.reporter.success(`${created ? 'added' : 'updated'} remote ${remote.alias} -> ${formatTarget(remote)}`);
  const sshConfig = await refreshSshConfig(context, { offerInclude: true, yes: flagOption(input, 'yes') });
  return { result: { action: created ? 'added' : 'updated', remote, warnings, sshConfig } };
};
