import { existsSync } from 'node:fs';
import { resolvePaths } from '../../core/paths.ts';
import type { RemoteDirectory } from './remotes.ts';

/**
 * Saved remotes from the state database, opened only when a v2 command
 * names a host (and never created just to look: no file, no remotes).
 */
export function stateRemoteDirectory(env: NodeJS.ProcessEnv, cwd: string): RemoteDirectory {
  const paths = resolvePaths(env);
  const open = async () => (await import('../../app/state-deps.ts')).openAppStateStore(paths);
  return {
    async list() {
      const { stateDbFile } = await import('../../app/state-deps.ts');
      if (!existsSync(stateDbFile(paths))) return [];
      return (await open()).listRemotes();
    },
    async save(alias, target, identityFile) {
      // The remotes orchestrator comes from the composition root, like every command's.
      const [{ createApp }, { createSilentReporter }] = await Promise.all([import('../../app/create-app.ts'), import('../../core/reporter.ts')]);
      const app = createApp({ env, projectDir: cwd, cwd, reporter: createSilentReporter(), interactive: false });
      (await app.remotes()).add({ alias, target, ...(identityFile !== undefined ? { identityFile } : {}) });
    },
  };
}
