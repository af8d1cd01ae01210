import { quoteShellArg } from '../../core/shell-quote.ts';
import { toRsyncFilter, type FilterRule } from './filters.ts';
import { remoteSpec } from './remote-path.ts';
import { OUT_FORMAT } from './rsync-output.ts';
import type { RsyncCapabilities } from './rsync-version.ts';
import type { RemoteShell } from './types.ts';

/** How a push makes sure the remote folder exists. */
export type MakeRemoteDir = 'mkpath' | 'rsync-path' | 'none';

interface CommonArgs {
  capabilities: RsyncCapabilities;
  remote: RemoteShell;
  dryRun: boolean;
  progress: boolean;
  ioTimeoutSeconds: number;
}

export interface PushArgs extends CommonArgs {
  /** Absolute local folder. */
  localDir: string;
  /** Normalised by normalizeRemoteDir. */
  remoteDir: string;
  filters: readonly FilterRule[];
  delete: boolean;
  makeRemoteDir: MakeRemoteDir;
  /** Itemize unchanged paths too (-ii): the listing a push record keeps (push-record.ts). */
  listAll?: boolean;
}

export interface FetchArgs extends CommonArgs {
  remoteDir: string;
  /** Normalised, relative to remoteDir. */
  paths: readonly string[];
  localDir: string;
  exclude: readonly string[];
}

/**
 * Options both directions share. -rlpt rather than -a: owners and groups
 * of one machine mean nothing on the other (and root on the host would
 * chown to our uid). Names are never shell-parsed: rsync >= 3.2.4 escapes
 * remote args itself, older ones get -s (--protect-args).
 */
function common(options: CommonArgs): string[] {
  const args = ['--recursive', '--links', '--perms', '--times', '--compress', '--no-human-readable', '--8-bit-output', `--out-format=${OUT_FORMAT}`, '--stats'];
  if (!options.capabilities.protectsArgsByDefault) args.push('--protect-args');
  // rsync's quick check compares whole seconds by default: a second save of the
  // same size within one second would look unchanged and never reach the host.
  // Negative = nanoseconds; the receiving rsync must be 3.1.3+ (2018) as well.
  if (options.capabilities.nanosecondTimes) args.push('--modify-window=-1');
  if (options.progress) args.push('--info=progress2');
  if (options.ioTimeoutSeconds > 0) args.push(`--timeout=${options.ioTimeoutSeconds}`);
  if (options.dryRun) args.push('--dry-run');
  args.push('--rsh', options.remote.rsh);
  return args;
}

export function buildPushArgs(options: PushArgs): string[] {
  const args = common(options);
  if (options.delete) {
    // Never --delete-excluded: excluded host files are the user's, not ours.
    // A dir-merge rule is read by the receiver from ITS side: only after the
    // transfer does the host have this push's .gitignore files. Plain rules
    // (what a push sends, see gitignore-rules.ts) travel with the filter list,
    // so deleting during the transfer is as safe and keeps rsync's
    // incremental recursion (--delete-after builds the whole file list first).
    args.push(options.filters.some((rule) => rule.kind === 'dir-merge-excludes') ? '--delete-after' : '--delete-delay');
  }
  if (options.listAll) args.push('--itemize-changes', '--itemize-changes');
  if (options.makeRemoteDir === 'mkpath') args.push('--mkpath');
  if (options.makeRemoteDir === 'rsync-path' && !options.dryRun) {
    // The one string a remote shell parses: the folder is quoted for it.
    args.push(`--rsync-path=mkdir -p -- ${quoteShellArg(options.remoteDir)} && rsync`);
  }
  for (const rule of options.filters) args.push(`--filter=${toRsyncFilter(rule)}`);
  // Trailing slashes: copy the folder's contents, not the folder into itself.
  args.push(`${withSlash(options.localDir)}`, remoteSpec(options.remote.destination, withSlash(options.remoteDir)));
  return args;
}

/**
 * Fetch never deletes and never overwrites a newer local file (--update).
 * `/./` marks where --relative starts keeping the path, so `outputs/x`
 * lands at `<localDir>/outputs/x`.
 */
export function buildFetchArgs(options: FetchArgs): string[] {
  const args = [...common(options), '--update', '--relative'];
  for (const pattern of options.exclude) args.push(`--filter=- ${pattern}`);
  options.paths.forEach((path, index) => {
    const source = `${options.remoteDir}/./${path === '.' ? '' : path}`;
    // Further sources from the same host are written ":path".
    args.push(index === 0 ? remoteSpec(options.remote.destination, source) : `:${source}`);
  });
  args.push(withSlash(options.localDir));
  return args;
}

function withSlash(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}
