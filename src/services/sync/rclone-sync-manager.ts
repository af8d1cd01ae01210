import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { isCommandNotFound, runProcess, type ProcessResult, type ProcessRunner } from '../../infrastructure/process.ts';
import { RcloneOutput, type RcloneStats } from '../datasync/rclone-output.ts';
import { resolveRules } from './filters.ts';
import { expandGitignores } from './gitignore-rules.ts';
import { existingFolder, loadFilters } from './project-folder.ts';
import { outside, plannedDeletions, unlistedOnTheWay, walkProject, type RemoteEntry } from './rclone-plan.ts';
import { PushRecords } from './push-record.ts';
import { normalizeFetchPath, normalizeRemoteDir } from './remote-path.ts';
import { resolveSftpEndpoint, type SftpEndpoint } from './sftp-endpoint.ts';
import type { FetchRequest, PushRequest, RemoteShell, SyncChanges, SyncManager, SyncProgress, SyncSummary, TransferOptions, WatchEvent, WatchRequest } from './types.ts';
import { runWatch } from './watch.ts';

export interface RcloneSftpSyncManagerOptions {
  runProcess?: ProcessRunner;
  /** The rclone program. Default: `rclone` from PATH. */
  rclone?: string;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  debug?: (message: string) => void;
  /** rsync's push records (push-record.ts): a push here drops the folder's, since it changes the host without listing it. */
  pushRecordDir?: string;
}

const DEFAULT_IO_TIMEOUT_SECONDS = 120;
/** rclone's exit status for "directory not found" (lsjson of a folder not made yet). */
const DIR_NOT_FOUND_EXIT = 3;
/** rclone's log output kept for error messages (the live lines are read as they come). */
const MAX_LOG_BYTES = 1024 * 1024;
/** The host listing (about 100 bytes a file): room for a million files. */
const MAX_LISTING_BYTES = 128 * 1024 * 1024;
/** rclone runs at once for one step (each its own process and SSH connection). */
const AT_ONCE = 4;

/**
 * `sync.strategy: rclone`: the project pushed with rclone's sftp backend
 * instead of rsync over the shared ssh connection. The rules are ours, not
 * rclone's: which files are copied and which host files are deleted is
 * decided here with the same matcher rsync's filters express (excludes,
 * include overrides, .gitignore at any depth, .dockerignore, protected
 * folders), then rclone copies exactly the listed files and deletes exactly
 * the listed ones. Nothing outside the project folder is listed, so nothing
 * outside it can be deleted; rclone's own filters and deletion are never
 * used (`rclone sync` is not run).
 *
 * rclone's SSH client is its own (1.60 cannot run ssh): host, port, user,
 * key and known_hosts come from `ssh -G` over the connection's ssh options;
 * the host key is always checked against those known_hosts.
 */
export class RcloneSftpSyncManager implements SyncManager {
  private readonly run: ProcessRunner;
  private readonly rclone: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly homeDir: string;
  private readonly debug: (message: string) => void;
  private readonly endpoints = new Map<string, Promise<SftpEndpoint>>();
  private readonly records: PushRecords | undefined;

  constructor(options: RcloneSftpSyncManagerOptions = {}) {
    this.run = options.runProcess ?? runProcess;
    this.rclone = options.rclone ?? 'rclone';
    this.homeDir = options.homeDir ?? homedir();
    this.debug = options.debug ?? (() => {});
    this.records = options.pushRecordDir === undefined ? undefined : new PushRecords(options.pushRecordDir);
    // A user's RCLONE_* variables (RCLONE_DELETE_EXCLUDED, RCLONE_FILTER, an sftp default) must not change what a push does.
    this.env = Object.fromEntries(Object.entries(options.env ?? process.env).filter(([name]) => !name.startsWith('RCLONE_')));
  }

  async push(request: PushRequest): Promise<SyncSummary> {
    const started = Date.now();
    const remoteDir = normalizeRemoteDir(request.remoteDir);
    const localDir = existingFolder(request.localDir);
    if (!request.dryRun) this.records?.drop({ localDir, destination: request.remote.destination, remoteDir });
    return this.withEndpoint(request.remote, async (session) => {
      // The .gitignore files as the plain rules an rsync push sends (gitignore-rules.ts), read right before the walk:
      // a sub-folder's .gitignore then means exactly what it means to rsync.
      const filters = expandGitignores(localDir, loadFilters(localDir, request));
      const local = walkProject(localDir, filters);
      const remote = await session.list(remoteDir, request);
      const deletions = plannedDeletions(localDir, filters, local, remote);
      const remoteFiles = new Set(remote.filter((entry) => !entry.IsDir).map((entry) => entry.Path));
      // A host symlink where the project has a file or folder would be written through (into its target, outside the
      // project): what is below one is not copied (rsync would replace the link; rclone cannot).
      const links = await session.linksAmong(remoteDir, unlistedOnTheWay(local.files, remote), request);
      const toCopy = outside(local.files, links);
      const copy = toCopy.length === 0 ? { copied: [], bytesSent: 0 }
        : await session.rclone(['copy', localDir, session.remote(remoteDir), '--files-from-raw', session.listFile('push', toCopy), '--no-traverse'], request);
      if (!request.dryRun && (request.delete ?? true)) {
        if (deletions.files.length > 0) await session.rclone(['delete', session.remote(remoteDir), '--files-from-raw', session.listFile('delete', deletions.files)], request);
        // rmdirs removes only empty folders: a file written there since the listing keeps its folder. Topmost folders: disjoint.
        await inBatches(deletions.folders, (folder) => session.rclone(['rmdirs', session.remote(`${remoteDir}/${folder}`)], request));
      }
      const deleted = request.delete ?? true ? [...deletions.files, ...deletions.folders.map((folder) => `${folder}/`)] : [];
      const changes: SyncChanges = {
        added: copy.copied.filter((path) => !remoteFiles.has(path)),
        changed: copy.copied.filter((path) => remoteFiles.has(path)),
        deleted,
      };
      return {
        dryRun: request.dryRun ?? false,
        filesTransferred: copy.copied.length,
        bytes: copy.copied.reduce((sum, path) => sum + sizeOf(join(localDir, path)), 0),
        bytesSent: copy.bytesSent,
        bytesReceived: 0,
        deleted: deleted.length,
        durationMs: Date.now() - started,
        changes,
        warnings: skippedWarnings(local.skipped, deletions.unlisted, [...links].sort()),
      };
    }, {
      // rclone's sftp listing follows a symlink into its target: a host link `data -> /mnt/disk` would list the disk's
      // files as the project's, and the push would delete them. A push leaves links out (never listed, never deleted).
      RCLONE_SFTP_SKIP_LINKS: 'true',
    });
  }

  async fetch(request: FetchRequest): Promise<SyncSummary> {
    const started = Date.now();
    const remoteDir = normalizeRemoteDir(request.remoteDir);
    const paths = (request.paths ?? ['.']).map(normalizeFetchPath);
    const localDir = resolve(request.localDir);
    const exclude = resolveRules({ exclude: request.exclude ?? [] }).exclude;
    if (!request.dryRun) await mkdir(localDir, { recursive: true });
    return this.withEndpoint(request.remote, async (session) => {
      // The paths as rclone filter rules (anchored, glob characters escaped): the folder and all below it, or the file.
      const include = paths.includes('.') ? ['+ **'] : paths.flatMap((path) => [`+ /${escapeGlob(path)}`, `+ /${escapeGlob(path)}/**`]);
      const filters = [...exclude.map((pattern) => `- ${pattern}`), ...include, '- **'].flatMap((rule) => ['--filter', rule]);
      // --update: a local file newer than the host's is kept, as rsync's fetch does.
      const copy = await session.rclone(['copy', session.remote(remoteDir), localDir, '--update', ...filters], request);
      return {
        dryRun: request.dryRun ?? false,
        filesTransferred: copy.copied.length,
        bytes: request.dryRun ? 0 : copy.copied.reduce((sum, path) => sum + sizeOf(join(localDir, path)), 0),
        bytesSent: 0,
        bytesReceived: copy.bytesSent,
        deleted: 0,
        durationMs: Date.now() - started,
        changes: { added: copy.copied, changed: [], deleted: [] },
        warnings: [],
      };
    });
  }

  watch(request: WatchRequest, onEvent: (event: WatchEvent) => void): Promise<void> {
    return runWatch({ push: (push) => this.push(push), loadFilters: (localDir) => loadFilters(localDir, request) }, request, onEvent);
  }

  private endpoint(remote: RemoteShell): Promise<SftpEndpoint> {
    const key = JSON.stringify([remote.destination, remote.sshArgs]);
    let pending = this.endpoints.get(key);
    if (!pending) {
      pending = resolveSftpEndpoint(remote, this.run, this.env, this.homeDir);
      pending.catch(() => this.endpoints.delete(key));
      this.endpoints.set(key, pending);
    }
    return pending;
  }

  /** Runs `work` with a private folder for the known_hosts copy and file lists, removed after. */
  private async withEndpoint<T>(remote: RemoteShell, work: (session: RcloneSession) => Promise<T>, extraEnv: NodeJS.ProcessEnv = {}): Promise<T> {
    const endpoint = await this.endpoint(remote);
    const folder = mkdtempSync(join(tmpdir(), 'mlt-rclone-'));
    try {
      const knownHosts = join(folder, 'known_hosts');
      writeFileSync(knownHosts, endpoint.knownHosts, { mode: 0o600 });
      writeFileSync(join(folder, 'rclone.conf'), '', { mode: 0o600 });
      const env: NodeJS.ProcessEnv = {
        ...this.env,
        RCLONE_CONFIG: join(folder, 'rclone.conf'),
        RCLONE_SFTP_HOST: endpoint.host,
        RCLONE_SFTP_PORT: String(endpoint.port),
        RCLONE_SFTP_USER: endpoint.user,
        RCLONE_SFTP_KNOWN_HOSTS_FILE: knownHosts,
        // No remote shell commands at all (hash sums, disk usage): the protocol only.
        RCLONE_SFTP_SHELL_TYPE: 'none',
        RCLONE_SFTP_DISABLE_HASHCHECK: 'true',
        ...(endpoint.keyFile ? { RCLONE_SFTP_KEY_FILE: endpoint.keyFile } : {}),
        ...extraEnv,
      };
      return await work(new RcloneSession(this, folder, env, remote.destination));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }

  /** Runs rclone, its JSON log read into `output` as it comes (the one reader datasync uses too). */
  async exec(args: string[], env: NodeJS.ProcessEnv, request: TransferOptions, output: RcloneOutput, maxOutputBytes = MAX_LOG_BYTES): Promise<ProcessResult> {
    const io = request.ioTimeoutSeconds ?? DEFAULT_IO_TIMEOUT_SECONDS;
    const full = [...args, '--use-json-log', '-v', '--contimeout', '15s', '--timeout', `${io > 0 ? io : 0}s`, '--retries', '1', '--low-level-retries', '3',
      ...(request.onProgress ? ['--stats', '1s'] : ['--stats', '0']), ...(request.dryRun ? ['--dry-run'] : [])];
    this.debug(`${this.rclone} ${full.join(' ')}`);
    let result: ProcessResult;
    try {
      result = await this.run(this.rclone, full, { env, ...(request.signal ? { signal: request.signal } : {}), onStderr: (chunk) => output.push(chunk), maxOutputBytes });
    } catch (error) {
      if (isCommandNotFound(error)) {
        throw new UserError('RCLONE_NOT_FOUND', `${this.rclone} is not installed on this machine (sync.strategy: rclone)`,
          'install rclone (sudo apt-get install rclone, or https://rclone.org/install/), or set sync.strategy: rsync', { cause: error });
      }
      throw error;
    }
    output.end();
    return result;
  }

  failure(result: ProcessResult, output: RcloneOutput, host: string): UserError {
    const said = output.errors.map((message) => message.trim()).join(' · ') || output.otherLines.at(-1) || `exit ${result.code ?? result.signal}`;
    if (/knownhosts: key mismatch/.test(said)) {
      return new UserError('SSH_HOST_KEY_CHANGED', `the host key of ${host} does not match known_hosts (rclone refused the connection)`,
        `if the host was reinstalled, check with its admin, then remove the old key: ssh-keygen -R HOST; never turn host key checking off`);
    }
    if (/knownhosts: key is unknown/.test(said)) {
      return new UserError('SSH_HOST_KEY_UNKNOWN', `${host} is not in known_hosts, and rclone only connects to known hosts`,
        `connect once with ssh (ssh ${host} true) or mltoolbox connect ${host}, which records its key; then sync again`);
    }
    if (/unable to authenticate|no supported methods remain/.test(said)) {
      return new UserError('SSH_AUTH_FAILED', `${host} refused rclone's login: ${said}`,
        'rclone uses the IdentityFile of your ssh config (unencrypted) or the ssh agent (SSH_AUTH_SOCK); add the key to the agent (ssh-add), or use sync.strategy: rsync');
    }
    if (/dial tcp|connection refused|i\/o timeout|couldn't connect SSH/.test(said)) {
      return new UserError('SYNC_CONNECTION_FAILED', `rclone could not reach ${host}: ${said}`, `check the host answers (ssh ${host} true), then sync again`);
    }
    return new UserError('SYNC_FAILED', `rclone failed (exit ${result.code ?? result.signal}): ${said}`, 'run again with --verbose to see rclone\'s command line; sync.strategy: rsync is the default alternative');
  }
}

/** One push or fetch: its private folder, rclone's environment, the host's name for messages. */
class RcloneSession {
  private readonly manager: RcloneSftpSyncManager;
  private readonly folder: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly host: string;

  constructor(manager: RcloneSftpSyncManager, folder: string, env: NodeJS.ProcessEnv, host: string) {
    this.manager = manager;
    this.folder = folder;
    this.env = env;
    this.host = host;
  }

  /** A path on the host as an rclone remote (on-the-fly sftp backend; relative paths are under the login folder). */
  remote(path: string): string {
    return `:sftp:${path}`;
  }

  /** A file list for --files-from-raw (one path per line, read literally). */
  listFile(name: string, paths: readonly string[]): string {
    const file = join(this.folder, name);
    writeFileSync(file, `${paths.join('\n')}\n`, { mode: 0o600 });
    return file;
  }

  /**
   * Of the `candidates` (paths the host listing lacks, by the folder that holds them), those the host has after
   * all: symlinks (or special files), seen by listing each such folder once more, following links, one level deep.
   */
  async linksAmong(remoteDir: string, candidates: ReadonlyMap<string, ReadonlySet<string>>, request: TransferOptions): Promise<Set<string>> {
    const links = new Set<string>();
    const folders = [...candidates.keys()];
    const look = async (folder: string) => {
      const entries = await this.list(folder === '' ? remoteDir : `${remoteDir}/${folder}`, request, { followLinks: true });
      for (const entry of entries) {
        const path = folder === '' ? entry.Path : `${folder}/${entry.Path}`;
        if (candidates.get(folder)!.has(path)) links.add(path);
      }
    };
    await inBatches(folders, look);
    return links;
  }

  /** Everything under the project folder on the host, links left out (or one level, following them); empty when it does not exist yet. */
  async list(remoteDir: string, request: TransferOptions, options: { followLinks?: boolean } = {}): Promise<RemoteEntry[]> {
    const output = new RcloneOutput();
    const args = options.followLinks ? ['lsjson', '--max-depth', '1'] : ['lsjson', '-R'];
    const env = options.followLinks ? { ...this.env, RCLONE_SFTP_SKIP_LINKS: 'false' } : this.env;
    const result = await this.manager.exec([...args, '--no-mimetype', '--no-modtime', this.remote(remoteDir)], env, { ...request, dryRun: false, onProgress: undefined }, output, MAX_LISTING_BYTES);
    if (result.code === DIR_NOT_FOUND_EXIT) return [];
    if (result.code !== 0) throw this.manager.failure(result, output, this.host);
    // What is deleted is planned from this listing: one that is not whole is an error, never a plan.
    let entries: unknown;
    try {
      entries = JSON.parse(result.stdout);
    } catch {
      entries = undefined;
    }
    if (!Array.isArray(entries) || !entries.every((entry: Partial<RemoteEntry> | null) => typeof entry?.Path === 'string' && typeof entry.IsDir === 'boolean')) {
      throw new UserError('SYNC_FAILED', `rclone's listing of ${this.host}:${remoteDir} is not whole (${result.stdout.length} bytes): nothing was copied or deleted`,
        'sync again; if it repeats, use sync.strategy: rsync');
    }
    return entries as RemoteEntry[];
  }

  /** Runs an rclone transfer; what it copied (or, in a dry run, would copy) and the bytes it moved. */
  async rclone(args: string[], request: TransferOptions): Promise<{ copied: string[]; bytesSent: number }> {
    const onProgress = request.onProgress;
    const output: RcloneOutput = new RcloneOutput(onProgress && (() => onProgress(progressOf(output.stats!, output.changes.length))));
    const result = await this.manager.exec(args, this.env, request, output);
    if (result.code !== 0) throw this.manager.failure(result, output, this.host);
    return { copied: output.changes, bytesSent: output.stats?.bytes ?? 0 };
  }
}

/** `work` for every item, AT_ONCE at a time. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += AT_ONCE) await Promise.all(items.slice(i, i + AT_ONCE).map(work));
}

function progressOf(stats: RcloneStats, files: number): SyncProgress {
  const bytes = stats.bytes ?? 0;
  const total = stats.totalBytes ?? 0;
  const speed = Math.round(stats.speed ?? 0);
  return {
    bytes,
    percent: total > 0 ? Math.min(100, Math.floor((bytes / total) * 100)) : 0,
    bytesPerSecond: speed,
    rate: `${(speed / 1_000_000).toFixed(2)}MB/s`,
    files,
    time: clock(stats.elapsedTime ?? 0),
  };
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function escapeGlob(path: string): string {
  return path.replace(/[\\*?[\]{}]/g, '\\$&');
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function skippedWarnings(skipped: readonly string[], unlisted: readonly string[], links: readonly string[]): string[] {
  const warnings: string[] = [];
  const show = (paths: readonly string[]) => paths.slice(0, 5).map((path) => JSON.stringify(path)).join(', ') + (paths.length > 5 ? `, … (${paths.length} in all)` : '');
  if (skipped.length > 0) warnings.push(`not copied by rclone (symlinks, special files, names with a line break; sync.strategy: rsync copies them): ${show(skipped)}`);
  if (unlisted.length > 0) warnings.push(`left on the host (rclone cannot name a file with a line break): ${show(unlisted)}`);
  if (links.length > 0) warnings.push(`not copied: the host has a symlink (or special file) there, and rclone would write through it; remove it on the host, or use sync.strategy: rsync: ${show(links)}`);
  return warnings;
}

