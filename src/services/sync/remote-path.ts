import { UserError } from '../../core/errors.ts';

/**
 * A push deletes host files that are gone locally, so its target must be a
 * project folder, never a place whose other contents matter: not the home
 * folder, not `/`, not a system folder. Paths are only checked by their
 * text (we cannot see the host's $HOME from here), which catches the
 * mistakes that happen: an empty setting, `~`, `.`, `/root`, `/home/me`.
 */
const SYSTEM_DIRS = new Set([
  'bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib32', 'lib64', 'libx32', 'media', 'mnt', 'opt', 'proc', 'root', 'run',
  'sbin', 'snap', 'srv', 'sys', 'tmp', 'usr', 'var', 'Users', 'Library', 'System', 'Applications', 'Volumes', 'private',
]);
/** Nothing below these is ever a project folder. */
const SYSTEM_TREES = new Set(['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'sys', 'usr', 'System']);
const HOME_PARENTS = new Set(['home', 'Users']);

function unsafe(remoteDir: string, why: string): UserError {
  return new UserError('SYNC_UNSAFE_REMOTE_DIR', `refusing to sync into ${JSON.stringify(remoteDir)}: ${why}`, 'use a folder of its own for the project, e.g. ~/projects/NAME (sync deletes files there that are gone locally)', {
    data: { remoteDir },
  });
}

/**
 * Validates and normalises the remote project folder: `~/` is dropped
 * (rsync paths are relative to the login folder anyway, and a quoted `~`
 * would not expand), `.` segments and trailing slashes go. Throws
 * SYNC_UNSAFE_REMOTE_DIR for a folder a mirroring push must not touch.
 */
export function normalizeRemoteDir(remoteDir: string): string {
  if (/[\0\n\r]/.test(remoteDir)) throw unsafe(remoteDir, 'it contains a line break or NUL');
  if (remoteDir.trim() === '') throw unsafe(remoteDir, 'it is empty');
  const absolute = remoteDir.startsWith('/');
  let rest = remoteDir;
  if (rest === '~' || rest.startsWith('~/')) rest = rest.slice(1);
  else if (rest.startsWith('~')) throw unsafe(remoteDir, 'another user\'s home (~user) is not supported');
  const segments: string[] = [];
  for (const segment of rest.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw unsafe(remoteDir, 'it contains ".."');
    segments.push(segment);
  }
  if (segments.length === 0) throw unsafe(remoteDir, absolute ? 'it is the root folder' : 'it is the home folder itself');
  if (absolute) {
    const [top, second] = segments;
    if (segments.length === 1 && SYSTEM_DIRS.has(top!)) throw unsafe(remoteDir, 'it is a system folder');
    if (SYSTEM_TREES.has(top!)) throw unsafe(remoteDir, 'it is inside a system folder');
    if (segments.length === 2 && HOME_PARENTS.has(top!)) throw unsafe(remoteDir, `it is a home folder (${second})`);
    if (segments.length === 3 && top === 'var' && second === 'home') throw unsafe(remoteDir, 'it is a home folder');
    return `/${segments.join('/')}`;
  }
  return segments.join('/');
}

/**
 * A path to fetch, relative to the remote project folder. It may not climb
 * out with `..`: fetch writes into the local project at the same place.
 */
export function normalizeFetchPath(path: string): string {
  if (/[\0\n\r]/.test(path)) throw badFetchPath(path, 'it contains a line break or NUL');
  if (path.startsWith('/') || path.startsWith('~')) throw badFetchPath(path, 'it must be relative to the project folder');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw badFetchPath(path, 'it contains ".."');
    segments.push(segment);
  }
  return segments.length === 0 ? '.' : segments.join('/');
}

function badFetchPath(path: string, why: string): UserError {
  return new UserError('SYNC_PATH_NOT_FOUND', `cannot fetch ${JSON.stringify(path)}: ${why}`, 'name a path inside the project, e.g. outputs/', { data: { path } });
}

/** `host:path`, with an IPv6 address in brackets so rsync does not split at its colons. */
export function remoteSpec(destination: string, path: string): string {
  const at = destination.lastIndexOf('@');
  const user = at === -1 ? '' : destination.slice(0, at + 1);
  const host = destination.slice(at + 1);
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${user}${bracketed}:${path}`;
}
