/** A saved remote, as much of it as v2 host lookup needs. */
export interface SavedRemote {
  alias: string;
  host: string;
  user: string | null;
  port: number | null;
  identityFile: string | null;
}

/** Saved remotes, for v2's "find the remote by alias or host". */
export interface RemoteDirectory {
  list(): Promise<SavedRemote[]>;
  /** Like `mltoolbox remote add ALIAS TARGET [--identity-file F]`. */
  save(alias: string, target: string, identityFile?: string): Promise<void>;
}

export interface RemoteMatch {
  remote: SavedRemote;
  how: 'alias' | 'host' | 'alias-prefix' | 'host-prefix';
}

/**
 * v2 found remotes fuzzily: by alias, by host (`user@host` too), or by the
 * start of either when only one remote fits. No match: the text is passed
 * through as a v3 target (an ssh alias or [user@]host[:port]).
 */
export function findRemote(remotes: readonly SavedRemote[], text: string): RemoteMatch | undefined {
  const byAlias = remotes.find((r) => r.alias === text);
  if (byAlias) return { remote: byAlias, how: 'alias' };
  const byHost = remotes.filter((r) => r.host === text || (r.user !== null && `${r.user}@${r.host}` === text));
  if (byHost.length === 1) return { remote: byHost[0]!, how: 'host' };
  if (byHost.length > 1) return undefined;
  if (text === 'local' || text.length < 2) return undefined;
  const aliasPrefix = remotes.filter((r) => r.alias.startsWith(text));
  if (aliasPrefix.length === 1) return { remote: aliasPrefix[0]!, how: 'alias-prefix' };
  if (aliasPrefix.length > 1) return undefined;
  const hostPrefix = remotes.filter((r) => r.host.startsWith(text));
  if (hostPrefix.length === 1) return { remote: hostPrefix[0]!, how: 'host-prefix' };
  return undefined;
}

/**
 * `host` + user + port -> `user@host:port`, replacing a user or port already
 * in the text (v2 flags win, as they did in v2). IPv6 literals get brackets.
 */
export function composeTarget(text: string, user: string | undefined, port: number | undefined): string {
  let host = text;
  let currentUser: string | undefined;
  let currentPort: string | undefined;
  const at = host.lastIndexOf('@');
  if (at !== -1) {
    currentUser = host.slice(0, at);
    host = host.slice(at + 1);
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1]!;
    currentPort = bracketed[2];
  } else if ((host.match(/:/g) ?? []).length === 1) {
    const [name, p] = host.split(':');
    host = name!;
    currentPort = p;
  }
  const finalUser = user ?? currentUser;
  const finalPort = port !== undefined ? String(port) : currentPort;
  const hostPart = host.includes(':') && finalPort !== undefined ? `[${host}]` : host;
  return `${finalUser ? `${finalUser}@` : ''}${hostPart}${finalPort !== undefined ? `:${finalPort}` : ''}`;
}
