import { createInterface } from 'node:readline/promises';
import type { CommandContext } from '../../command.ts';
import {
  ensureInclude, generatedConfigPath, includeLine, includePresent, userConfigPath, writeGeneratedConfig,
} from '../../../orchestrators/connection/ssh-include.ts';

export interface SshConfigOutcome {
  /** The generated Host entries. */
  file: string;
  /** ~/.ssh/config: the Include line was there, was added now, or was left for the user to add. */
  include: 'present' | 'added' | 'not-added';
  backup?: string;
  warning?: string;
}

/** A saved host that is really a Host of the user's ssh config (`ssh -G` names another HostName). */
async function sshAliases(context: CommandContext, hosts: readonly string[]): Promise<Set<string>> {
  const aliases = new Set<string>();
  const candidates = hosts.filter((h) => !h.includes('.') && !h.includes(':') && h !== 'localhost');
  if (candidates.length === 0) return aliases;
  const ssh = await context.app.ssh();
  for (const host of candidates) {
    const resolved = await ssh.resolve({ host }).catch(() => undefined);
    if (resolved && resolved.hostname.toLowerCase() !== host.toLowerCase()) aliases.add(host);
  }
  return aliases;
}

async function askYesNo(context: CommandContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: context.stdin, output: context.stderr, terminal: false });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Rewrites the generated ssh_config from the saved remotes and, when asked
 * (`offerInclude`), offers the one Include line for ~/.ssh/config: added with
 * --yes or a "y" at the prompt; never without consent. A failure here is a
 * warning: the remote itself is saved.
 */
export async function refreshSshConfig(context: CommandContext, options: { offerInclude: boolean; yes: boolean }): Promise<SshConfigOutcome> {
  const { paths } = context.app;
  const file = generatedConfigPath(paths.configDir);
  try {
    const remotes = (await context.app.state()).listRemotes();
    const sshHosts = remotes.filter((r) => r.alias !== r.host).map((r) => r.host);
    await writeGeneratedConfig(file, remotes, await sshAliases(context, sshHosts));
    if (await includePresent(paths.homeDir, file)) return { file, include: 'present' };
    if (!options.offerInclude) return { file, include: 'not-added' };
    const line = includeLine(file, paths.homeDir);
    const consent = options.yes
      || (context.app.environment.interactive && await askYesNo(context, `Add '${line}' as the first line of ${userConfigPath(paths.homeDir)}, so 'ssh ALIAS' and editors know your remotes? (your entries stay as they are)`));
    if (!consent) {
      context.reporter.info(`to use saved remotes with plain ssh, add this line at the top of ~/.ssh/config: ${line} (or run remote add again with --yes)`);
      return { file, include: 'not-added' };
    }
    const outcome = await ensureInclude(paths.homeDir, file);
    if (outcome.action === 'added') {
      context.reporter.info(`added '${line}' to ${outcome.configFile}${outcome.backup ? ` (backup: ${outcome.backup})` : ''}`);
    }
    return { file, include: outcome.action, ...(outcome.backup ? { backup: outcome.backup } : {}) };
  } catch (error) {
    const warning = `could not update the ssh config (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the remote is saved all the same`;
    context.reporter.warn(warning);
    return { file, include: 'not-added', warning };
  }
}
