import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { suggest } from '../../core/suggest.ts';
import type { RemoteRecord, StateStore } from '../../db/index.ts';
import type { Reporter } from '../../core/reporter.ts';
import { parsePortNumber, parseTarget, parseUser, validateAlias, validateIdentityFile } from '../../services/ssh/target.ts';
import type { SshService } from '../../services/ssh/types.ts';
import { refreshSshConfig, type RefreshOptions, type SshConfigOutcome } from './ssh-config.ts';

export interface AddRemoteRequest {
  alias: string;
  /** `[user@]host[:port]` */
  target: string;
  user?: string;
  /** As typed (a string from the command line); validated here. */
  port?: string;
  identityFile?: string;
}

export interface AddRemoteOutcome {
  remote: RemoteRecord;
  /** false: the alias existed and was updated. */
  created: boolean;
  /** Things worth telling the user that did not stop the command. */
  warnings: string[];
}

export interface RemotesOrchestrator {
  add(request: AddRemoteRequest): AddRemoteOutcome;
  list(): RemoteRecord[];
  /** Throws REMOTE_NOT_FOUND (with the closest alias) when nothing is saved by that name. */
  remove(alias: string): RemoteRecord;
  /**
   * Rewrites the generated ssh_config from the saved remotes and, when asked,
   * offers the Include line for ~/.ssh/config (never added without consent).
   * A failure is a warning in the outcome: the remotes themselves are saved.
   */
  refreshSshConfig(options: RefreshOptions): Promise<SshConfigOutcome>;
}

export interface RemotesDeps {
  store: StateStore;
  homeDir: string;
  /** Relative --identity-file paths are resolved against it. */
  cwd: string;
  fileExists?: (path: string) => boolean;
  /** For the generated ssh_config (refreshSshConfig); without them it is not written. */
  sshConfig?: { configDir: string; reporter: Reporter; ssh(): Promise<SshService> };
}

/** Saved remotes: short names for `[user@]host[:port]` plus the key to use. */
export function createRemotesOrchestrator(deps: RemotesDeps): RemotesOrchestrator {
  const fileExists = deps.fileExists ?? existsSync;

  const expandPath = (path: string) => {
    if (path === '~') return deps.homeDir;
    if (path.startsWith('~/')) return join(deps.homeDir, path.slice(2));
    return isAbsolute(path) ? path : resolve(deps.cwd, path);
  };

  return {
    add(request) {
      const alias = validateAlias(request.alias);
      const target = parseTarget(request.target);
      const user = pick('user', target.user, request.user === undefined ? undefined : parseUser(request.user), request.target);
      const port = pick('port', target.port, request.port === undefined ? undefined : parsePortNumber(request.port), request.target);
      const identityFile = request.identityFile === undefined ? undefined : validateIdentityFile(expandPath(validateIdentityFile(request.identityFile)));
      const warnings: string[] = [];
      if (identityFile !== undefined && !fileExists(identityFile)) {
        warnings.push(`identity file ${identityFile} does not exist (yet); ssh will fail until it does`);
      }
      const { remote, created } = deps.store.upsertRemote({ alias, host: target.host, user, port, identityFile });
      return { remote, created, warnings };
    },
    list: () => deps.store.listRemotes(),
    async refreshSshConfig(options) {
      if (!deps.sshConfig) throw new Error('refreshSshConfig needs RemotesDeps.sshConfig');
      return refreshSshConfig({ store: deps.store, homeDir: deps.homeDir, ...deps.sshConfig }, options);
    },
    remove(alias) {
      const removed = deps.store.removeRemote(alias);
      if (removed) return removed;
      const aliases = deps.store.listRemotes().map((r) => r.alias);
      const guess = suggest(alias, aliases);
      throw new UserError('REMOTE_NOT_FOUND', `no saved remote named '${alias}'`,
        guess ? `did you mean '${guess}'? Run 'mltoolbox remote list' to see saved remotes`
          : aliases.length ? `run 'mltoolbox remote list' to see saved remotes` : `no remotes are saved yet; add one with 'mltoolbox remote add ALIAS [user@]host[:port]'`,
        { data: { alias, ...(guess ? { suggestion: guess } : {}) } });
    },
  };
}

/** The target may say `alice@host:2222` and the options --user/--port: they must agree. */
function pick<T>(what: 'user' | 'port', fromTarget: T | undefined, fromOption: T | undefined, target: string): T | null {
  if (fromTarget !== undefined && fromOption !== undefined && fromTarget !== fromOption) {
    throw new UserError('REMOTE_TARGET_INVALID', `the ${what} in '${target}' (${String(fromTarget)}) differs from --${what} ${String(fromOption)}`,
      `give the ${what} once: either in the target or with --${what}`);
  }
  return fromTarget ?? fromOption ?? null;
}
