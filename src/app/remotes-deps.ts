import type { App } from './create-app.ts';
import type { RemotesOrchestrator } from '../orchestrators/remotes/index.ts';

/** Saved remotes over the state database, and the generated ssh_config they feed. */
export async function createRemotes(app: App): Promise<RemotesOrchestrator> {
  const [{ createRemotesOrchestrator }, store] = await Promise.all([import('../orchestrators/remotes/index.ts'), app.state()]);
  return createRemotesOrchestrator({
    store,
    homeDir: app.paths.homeDir,
    // The user typed relative --identity-file paths against their shell's folder, not -C's.
    cwd: app.environment.cwd ?? process.cwd(),
    sshConfig: { configDir: app.paths.configDir, reporter: app.environment.reporter, ssh: () => app.ssh() },
  });
}
