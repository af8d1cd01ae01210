import type { Reporter } from '../../core/reporter.ts';
import type { StateStore } from '../../db/index.ts';
import type { SshService } from '../../services/ssh/types.ts';
import {
  ensureInclude, generatedConfigPath, includeLine, includePresent, userConfigPath, writeGeneratedConfig,
} from '../connection/ssh-include.ts';

export interface SshConfigOutcome {
  /** The generated Host entries. */
  file: string;
  /** ~/.ssh/config: the Include line was there, was added now, or was left for the user to add. */
  include: 'present' | 'added' | 'not-added';
  backup?: string;
  warning?: string;
}

export interface SshConfigDeps {
  store: StateStore;
  reporter: Reporter;
  homeDir: string;
  /** Where the generated ssh_config lives ($XDG_CONFIG_HOME/mltoolbox). */
  configDir: string;
  ssh(): Promise<SshService>;
}

export interface RefreshOptions {
  /** Offer the Include line for ~/.ssh/config (remote add); remove only rewrites the file. */
  offerInclude: boolean;
  /** Consent given on the command line (--yes). */
  yes: boolean;
  /** Asks the user (a y/N prompt); absent when nobody can answer (CI, --json, no TTY). */
  confirm?: (question: string) => Promise<boolean>;
}

/** A saved host that is really a Host of the user's ssh config (`ssh -G` names another HostName). */
async function sshAliases(deps: SshConfigDeps, hosts: readonly string[]): Promise<Set<string>> {
  const aliases = new Set<string>();
  const candidates = hosts.filter((h) => !h.includes('.') && !h.includes(':') && h !== 'localhost');
  if (candidates.length === 0) return aliases;
  const ssh = await deps.ssh();
  for (const host of candidates) {
    const resolved = await ssh.resolve({ host }).catch(() => undefined);
    if (resolved && resolved.hostname.toLowerCase() !== host.toLowerCase()) aliases.add(host);
  }
  return aliases;
}

/**
 * Rewrites the generated ssh_config from the saved remotes and, when asked
 * (`offerInclude`), offers the one Include line for ~/.ssh/config: added with
 * --yes or a "y" at the prompt; never without consent. A failure here is a
 * warning: the remote itself is saved.
 */
export async function refreshSshConfig(deps: SshConfigDeps, options: RefreshOptions): Promise<SshConfigOutcome> {
  const { homeDir, reporter } = deps;
  const file = generatedConfigPath(deps.configDir);
  try {
    const sshHosts = deps.store.listRemotes().filter((r) => r.alias !== r.host).map((r) => r.host);
    const aliases = await sshAliases(deps, sshHosts);
    // The rows are read again inside the file's lock: of concurrent `remote add`s the last writer writes them all.
    await writeGeneratedConfig(file, () => deps.store.listRemotes(), aliases);
    if (await includePresent(homeDir, file)) return { file, include: 'present' };
    if (!options.offerInclude) return { file, include: 'not-added' };
    const line = includeLine(file, homeDir);
    const consent = options.yes
      || (options.confirm !== undefined && await options.confirm(`Add '${line}' as the first line of ${userConfigPath(homeDir)}, so 'ssh ALIAS' and editors know your remotes? (your entries stay as they are)`));
    if (!consent) {
      reporter.info(`to use saved remotes with plain ssh, add this line at the top of ~/.ssh/config: ${line} (or run remote add again with --yes)`);
      return { file, include: 'not-added' };
    }
    const outcome = await ensureInclude(homeDir, file);
    if (outcome.action === 'added') {
      reporter.info(`added '${line}' to ${outcome.configFile}${outcome.backup ? ` (backup: ${outcome.backup})` : ''}`);
    }
    return { file, include: outcome.action, ...(outcome.backup ? { backup: outcome.backup } : {}) };
  } catch (error) {
    const warning = `could not update the ssh config (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the remote is saved all the same`;
    reporter.warn(warning);
    return { file, include: 'not-added', warning };
  }
}
