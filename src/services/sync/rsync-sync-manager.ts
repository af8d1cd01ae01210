import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { folderTimesDigest, treeDigest } from '../../core/tree-digest.ts';
import { isCommandNotFound, runProcess, type ProcessRunner } from '../../infrastructure/process.ts';
import { resolveRules, toRsyncFilter, type FilterRule } from './filters.ts';
import { existingFolder, loadFilters } from './project-folder.ts';
import { expandGitignores } from './gitignore-rules.ts';
import { normalizeFetchPath, normalizeRemoteDir } from './remote-path.ts';
import { buildFetchArgs, buildPushArgs, type MakeRemoteDir, type PushArgs } from './rsync-args.ts';
import { listingUsable, PUSH_RECORD_MAX_ENTRIES, pushKey, PushRecords, type PushRecord } from './push-record.ts';
import { classifyRsyncFailure, fastChannelUnavailable, isMkpathUnsupported, VANISHED_EXIT } from './rsync-errors.ts';
import { RsyncOutputParser } from './rsync-output.ts';
import { capabilitiesOf, type RsyncCapabilities } from './rsync-version.ts';
import { rsyncVersionCache, type RsyncVersionCache } from './rsync-version-cache.ts';
import type { FastRemoteShell, FetchRequest, PushRequest, RemoteShell, SyncManager, SyncSummary, TransferOptions, WatchEvent, WatchRequest } from './types.ts';
import { runWatch } from './watch.ts';

export interface RsyncSyncManagerOptions {
  /** Injected for tests; default runs real processes. */
  runProcess?: ProcessRunner;
  /** The rsync program. Default: `rsync` from PATH. */
  rsync?: string;
  /** Environment for rsync (and the ssh it starts). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Streams rsync's full argv for --verbose. */
  debug?: (message: string) => void;
  /** Keeps `rsync --version` here, keyed by the binary (rsync-version-cache.ts). Default: asked on every run. */
  versionCacheFile?: string;
  /** Keeps what each push listed here (push-record.ts), so a push with nothing to do can skip rsync. Default: none (rsync always runs). */
  pushRecordDir?: string;
}

const DEFAULT_IO_TIMEOUT_SECONDS = 120;

export class RsyncSyncManager implements SyncManager {
  private readonly run: ProcessRunner;
  private readonly rsync: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly debug: (message: string) => void;
  private capabilitiesPromise: Promise<RsyncCapabilities> | undefined;
  private readonly versionCache: RsyncVersionCache | undefined;
  private readonly records: PushRecords | undefined;
  /** Hosts whose rsync rejected --mkpath (older than 3.2.3). */
  private readonly hostsWithoutMkpath = new Set<string>();

  constructor(options: RsyncSyncManagerOptions = {}) {
    this.run = options.runProcess ?? runProcess;
    this.rsync = options.rsync ?? 'rsync';
    this.debug = options.debug ?? (() => {});
    // These would bring back rsync's old shell-split remote args (names with spaces or $() break).
    const { RSYNC_OLD_ARGS: _old, RSYNC_PROTECT_ARGS: _protect, ...env } = options.env ?? process.env;
    this.env = env;
    this.versionCache = options.versionCacheFile === undefined ? undefined : rsyncVersionCache(options.versionCacheFile, this.rsync, env);
    this.records = options.pushRecordDir === undefined ? undefined : new PushRecords(options.pushRecordDir);
  }

  async push(request: PushRequest): Promise<SyncSummary> {
    const started = Date.now();
    const remoteDir = normalizeRemoteDir(request.remoteDir);
    const localDir = existingFolder(request.localDir);
    const capabilities = await this.capabilities();
    const host = request.remote.destination;
    const makeRemoteDir: MakeRemoteDir = capabilities.mkpath && !this.hostsWithoutMkpath.has(host) ? 'mkpath' : 'rsync-path';
    // Read right before rsync starts: the rules must be this push's .gitignore files.
    const filters = expandGitignores(localDir, loadFilters(localDir, request));
    const pushArgs = (overrides: Partial<PushArgs> & Pick<PushArgs, 'remote' | 'filters' | 'makeRemoteDir'>) =>
      buildPushArgs({ ...transfer(request, capabilities), localDir, remoteDir, delete: request.delete ?? true, ...overrides });
    // Read once per push: a channel forgotten after a failure is not tried again (a watch pushes many times).
    const fast = request.remote.fast?.();
    const pair = { localDir, destination: host, remoteDir };
    // Only what changes what rsync does: not how it reports, waits, or reaches the host.
    const key = pushKey(pushArgs({ remote: { ...request.remote, rsh: '' }, filters, makeRemoteDir: 'none', progress: false, ioTimeoutSeconds: 0 }));
    const records = request.dryRun ? undefined : this.records;
    // A watch's pushes neither ask nor list (-ii costs ~5 ms a thousand paths): each one is for a change, and waited for.
    const recording = records !== undefined && fast?.treeDigest !== undefined && !request.knownChanged;
    if (recording) {
      const record = records.read(pair);
      const unchanged = record !== undefined && record.key === key && (await sameTree(fast!, localDir, remoteDir, record));
      this.debug(`push record: ${record === undefined ? 'none' : record.key !== key ? 'other rules' : unchanged ? 'both sides match, rsync not needed' : 'the trees differ'}`);
      if (unchanged) return unchangedSummary(started);
    }
    // rsync is about to change the host (whichever way it goes): until it has succeeded, no list stands for it.
    records?.drop(pair);
    const rules = inArgvOrFile(filters);
    const args = (make: MakeRemoteDir) => (rsh: string): string[] =>
      pushArgs({ remote: { ...request.remote, rsh }, filters: rules.filters, makeRemoteDir: make, listAll: recording });
    const run = async (make: MakeRemoteDir) => {
      const { summary, listing } = await this.transfer(args(make), request, 'push', fast, recording ? PUSH_RECORD_MAX_ENTRIES : 0);
      if (recording && listing && summary.warnings.length === 0 && listingUsable(listing)) records.write(pair, { key, entries: listing, folders: folderTimesDigest(localDir, listing) });
      return summary;
    };
    try {
      return await run(makeRemoteDir);
    } catch (error) {
      if (!(error instanceof MkpathUnsupported)) throw error;
      this.hostsWithoutMkpath.add(host);
      return await run('rsync-path');
    } finally {
      rules.cleanup();
    }
  }

  async fetch(request: FetchRequest): Promise<SyncSummary> {
    const remoteDir = normalizeFetchRoot(request.remoteDir);
    const paths = (request.paths ?? ['.']).map(normalizeFetchPath);
    const localDir = resolve(request.localDir);
    const exclude = resolveRules({ exclude: request.exclude ?? [] }).exclude;
    const capabilities = await this.capabilities();
    if (!request.dryRun) await mkdir(localDir, { recursive: true });
    const args = (rsh: string) => buildFetchArgs({ ...transfer(request, capabilities), remote: { ...request.remote, rsh }, remoteDir, paths, localDir, exclude });
    return (await this.transfer(args, request, 'fetch', request.remote.fast?.())).summary;
  }

  watch(request: WatchRequest, onEvent: (event: WatchEvent) => void): Promise<void> {
    return runWatch({ push: (push) => this.push(push), loadFilters: (localDir) => loadFilters(localDir, request) }, request, onEvent);
  }

  private capabilities(): Promise<RsyncCapabilities> {
    this.capabilitiesPromise ??= this.versionOutput()
      .then(capabilitiesOf)
      .catch((error: unknown) => {
        this.capabilitiesPromise = undefined;
        throw isCommandNotFound(error) ? rsyncNotInstalled(this.rsync, error) : error;
      });
    return this.capabilitiesPromise;
  }

  /** `rsync --version`, from the cache when the binary is the one it was asked of. */
  private async versionOutput(): Promise<string> {
    const cached = await this.versionCache?.read();
    if (cached?.stdout !== undefined) return cached.stdout;
    const { stdout } = await this.run(this.rsync, ['--version'], { env: this.env, timeoutMs: 10_000 });
    if (cached?.key !== undefined) await this.versionCache!.write(cached.key, stdout);
    return stdout;
  }

  /** Through the host's fast channel when it has one (and, if that does not answer, forgets it), else by ssh. */
  private async transfer(argsFor: (rsh: string) => string[], request: TransferOptions & { remote: RemoteShell }, direction: 'push' | 'fetch',
    fast: FastRemoteShell | undefined, listingMax = 0): Promise<{ summary: SyncSummary; listing?: string[] }> {
    if (fast) {
      const attempt = await this.runRsync(argsFor(fast.rsh), request, { ...this.env, ...fast.env() }, listingMax);
      if (attempt.result.code === 0 || !fastChannelUnavailable(attempt.result.stderr)) return this.summarize(attempt, request, direction, 'fast');
      this.debug(`fast channel to ${request.remote.destination} did not answer; going by ssh (${attempt.result.stderr.trim().split('\n').pop() ?? ''})`);
      fast.forget();
    }
    return this.summarize(await this.runRsync(argsFor(request.remote.rsh), request, this.env, listingMax), request, direction, 'ssh');
  }

  private async runRsync(args: string[], request: TransferOptions, env: NodeJS.ProcessEnv, listingMax: number) {
    this.debug(`${this.rsync} ${args.join(' ')}`);
    const parser = new RsyncOutputParser(request.onProgress, listingMax);
    const started = Date.now();
    try {
      const result = await this.run(this.rsync, args, { env, signal: request.signal, onStdout: (chunk) => parser.push(chunk), maxOutputBytes: 1024 * 1024 });
      return { result, parser, started };
    } catch (error) {
      throw isCommandNotFound(error) ? rsyncNotInstalled(this.rsync, error) : error;
    }
  }

  private summarize({ result, parser, started }: Awaited<ReturnType<RsyncSyncManager['runRsync']>>, request: TransferOptions & { remote: RemoteShell },
    direction: 'push' | 'fetch', channel: SyncSummary['channel']): { summary: SyncSummary; listing?: string[] } {
    const failure = { code: result.code, signal: result.signal, stderr: result.stderr, direction, host: request.remote.destination };
    const warnings: string[] = [];
    if (result.code === VANISHED_EXIT) {
      warnings.push('some files changed or vanished while being copied; sync again to catch up');
    } else if (result.code !== 0) {
      if (isMkpathUnsupported(failure)) throw new MkpathUnsupported();
      throw classifyRsyncFailure(failure);
    }
    const { changes, stats, listing } = parser.finish();
    return { summary: { dryRun: request.dryRun ?? false, ...stats, durationMs: Date.now() - started, changes, warnings, channel }, ...(listing ? { listing } : {}) };
  }
}

/**
 * Both machines' treeDigest of the last push's paths, the host's through the
 * fast channel (asked first, so both work at once): equal means rsync would
 * find nothing to do. Anything that stops the host from answering means no.
 */
async function sameTree(fast: FastRemoteShell, localDir: string, remoteDir: string, record: PushRecord): Promise<boolean> {
  const remote = fast.treeDigest!(remoteDir, record.entries).catch(() => undefined);
  const local = await treeDigest(localDir, record.entries);
  // The local folders have not changed since (an entry added here and copied to the host by other means would match on both sides).
  return folderTimesDigest(localDir, record.entries) === record.folders && (await remote) === local;
}

function unchangedSummary(started: number): SyncSummary {
  return {
    dryRun: false, filesTransferred: 0, bytes: 0, bytesSent: 0, bytesReceived: 0, deleted: 0, durationMs: Date.now() - started,
    changes: { added: [], changed: [], deleted: [] }, warnings: [], channel: 'fast', unchanged: true,
  };
}

class MkpathUnsupported extends Error {}

function transfer(request: TransferOptions, capabilities: RsyncCapabilities) {
  return {
    capabilities,
    dryRun: request.dryRun ?? false,
    progress: request.onProgress !== undefined,
    ioTimeoutSeconds: request.ioTimeoutSeconds ?? DEFAULT_IO_TIMEOUT_SECONDS,
  };
}

function rsyncNotInstalled(rsync: string, cause: unknown): UserError {
  return new UserError('SYNC_RSYNC_NOT_INSTALLED', `${rsync} is not installed on this machine`, 'install rsync: sudo apt-get install rsync, or brew install rsync on macOS', { cause });
}

/** Fetch never deletes, so any non-empty folder is fine as its root. */
function normalizeFetchRoot(remoteDir: string): string {
  if (remoteDir.trim() === '' || /[\0\n\r]/.test(remoteDir)) {
    throw new UserError('SYNC_PATH_NOT_FOUND', `cannot fetch from ${JSON.stringify(remoteDir)}`, 'name the project folder on the host, e.g. ~/projects/NAME', { data: { remoteDir } });
  }
  if (remoteDir === '~') return '.';
  const trimmed = remoteDir.startsWith('~/') ? remoteDir.slice(2) : remoteDir;
  return trimmed.length > 1 ? trimmed.replace(/\/+$/, '') || '/' : trimmed;
}

/** Above this many bytes of rules, they go to a file: argv is limited (one argument to 128 KiB on Linux, all to ~1 MiB on macOS). */
export const FILTERS_IN_ARGV_MAX_BYTES = 64 * 1024;

/** The rules as --filter arguments, or, for a long list, one `merge FILE` of a private temporary file. */
export function inArgvOrFile(filters: FilterRule[], maxBytes = FILTERS_IN_ARGV_MAX_BYTES): { filters: FilterRule[]; cleanup: () => void } {
  const lines = filters.map(toRsyncFilter);
  if (lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 10, 0) <= maxBytes) return { filters, cleanup: () => {} };
  const folder = mkdtempSync(join(tmpdir(), 'mlt-sync-'));
  const file = join(folder, 'filters');
  try {
    writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return { filters: [{ kind: 'merge-file', file }], cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}
