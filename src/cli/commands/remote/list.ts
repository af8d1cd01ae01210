import type { CommandRun } from '../../command.ts';
import { renderRemoteTable } from './render.ts';

export const run: CommandRun = async (context) => {
  const remotes = (await context.app.remotes()).list();
  if (remotes.length === 0) context.reporter.info('no remotes saved yet; add one: mltoolbox remote add ALIAS [user@]host[:port]');
  return {
    result: { remotes },
    human: () => (remotes.length === 0 ? '' : renderRemoteTable(remotes, context.app.paths.homeDir, new Date())),
  };
};
