import type { CommandContext } from '../../command.ts';
import { createRemotesOrchestrator, type RemotesOrchestrator } from '../../../orchestrators/remotes/index.ts';

/** The remotes orchestrator over this run's state database. */
export async function openRemotes(context: CommandContext): Promise<RemotesOrchestrator> {
  // The user typed relative --identity-file paths against their shell's folder, not -C's.
  return createRemotesOrchestrator({ store: await context.app.state(), homeDir: context.app.paths.homeDir, cwd: process.cwd() });
}
