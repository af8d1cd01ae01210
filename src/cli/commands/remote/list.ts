import type { CommandRun } from '../../command.ts';
import { openRemotes } from './open-remotes.ts';
import { renderRemoteTable } from './render.ts';

export const run: CommandRun = async (context) => {
  const remotes = (await openRemotes(context)).list();
  if (remotes.length === 0) context.reporter.info('no remotes saved yet; add one: mltoolbox remote add ALIAS [user@]host[:port]');
  return {
    result: { remotes },
    human: () => (remotes.length === 0 ? '' : renderRemoteTable(remotes, context.app.paths.homeDir, new Date())),
  };
};
