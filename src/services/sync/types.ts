/**
 * How rsync reaches the host. The SSH service builds it (with its control
 * socket and options); the sync service only passes it through, so it does
 * not depend on how the connection is made.
 */
export interface RemoteShell {
  /** rsync's `-e` value, e.g. `ssh -F /x/config -o ControlPath=...`, already quoted for rsync. */
  rsh: string;
  /** The ssh destination, e.g. `gpu-box` or `root@10.0.0.5`. */
  destination: string;
  /**
   * ssh's options and destination as the connection uses them (ending with
   * `--` and the host): how a tool with its own SSH client (rclone) resolves
   * the same host, user, port, key and known_hosts with `ssh -G`.
   */
  sshArgs?: readonly string[];
  /**
   * The host's fast channel (`mlt serve`), read when a transfer starts:
   * undefined when the host has none (or it was forgotten).
   */
  fast?(): FastRemoteShell | undefined;
}

/** rsync through the host's fast channel: its -e, the environment that -e needs (a new handshake each run: never argv), and how to forget the channel when it does not answer. */
export interface FastRemoteShell {
  rsh: string;
  env(): Readonly<Record<string, string>>;
  forget(): void;
  /**
   * The host's treeDigest (core/tree-digest.ts) of these paths under its
   * folder `root`; undefined when it cannot tell. Absent when the host's
   * server is older than this question.
   */
  treeDigest?(root: string, entries: readonly string[]): Promise<string | undefined>;
}

/** What is copied. Every field has a safe default. */
export interface SyncRules {
  /** rsync-style patterns never copied (and never deleted on the host). */
  exclude?: readonly string[];
  /** rsync-style patterns copied even when excluded or ignored. */
  includeOverrides?: readonly string[];
  /** Skip what .gitignore files (at any depth) ignore. Default: true. */
  respectGitignore?: boolean;
  /** Skip what the root .dockerignore ignores. Default: true. */
  respectDockerignore?: boolean;
  /** Copy .git folders too. Default: false. */
  syncGit?: boolean;
  /** Host paths a push never deletes, even when they are gone locally. Default: DEFAULT_PROTECTED. */
  protect?: readonly string[];
}

export interface SyncProgress {
  /** Bytes of file data moved so far (rsync's progress2 count). */
  bytes: number;
  /** 0–100, over the whole transfer. */
  percent: number;
  bytesPerSecond: number;
  /** As rsync printed it, e.g. "12.34MB/s". */
  rate: string;
  /** Files transferred so far. */
  files: number;
  /** Files still to check, and the total known so far (both grow while rsync scans). */
  filesToCheck?: number;
  filesTotal?: number;
  /** Elapsed or remaining time as rsync printed it, e.g. "0:00:03". */
  time: string;
}

/** Paths relative to the destination; folders end with '/'. */
export interface SyncChanges {
  added: string[];
  changed: string[];
  deleted: string[];
}

export interface SyncSummary {
  dryRun: boolean;
  /** Regular files whose content was (or would be) sent. */
  filesTransferred: number;
  /** Size of those files' content. */
  bytes: number;
  /** Bytes on the wire, after compression and delta transfer. */
  bytesSent: number;
  bytesReceived: number;
  deleted: number;
  durationMs: number;
  changes: SyncChanges;
  /** Non-fatal problems, e.g. files that vanished while being copied. */
  warnings: string[];
  /** How rsync reached the host: the agent's fast channel, or a new ssh session (absent for local copies). */
  channel?: 'fast' | 'ssh';
  /**
   * True when rsync did not run: both machines' digests of what the last
   * push listed were equal, so there was nothing to send, change or delete
   * (docs/sync.md, "A sync with nothing to do").
   */
  unchanged?: boolean;
}

export interface TransferOptions {
  /** List what would change; change nothing. */
  dryRun?: boolean;
  onProgress?: (progress: SyncProgress) => void;
  signal?: AbortSignal;
  /** rsync --timeout: give up when no data moves for this long. Default: 120 s (0 disables). */
  ioTimeoutSeconds?: number;
}

export interface PushRequest extends TransferOptions {
  remote: RemoteShell;
  /** The local project folder; its contents are copied. */
  localDir: string;
  /** The project's folder on the host (relative paths are under the remote home). */
  remoteDir: string;
  rules?: SyncRules;
  /** Delete host files that are gone locally (never excluded or protected ones). Default: true. */
  delete?: boolean;
  /**
   * The caller saw a file change (a watch): rsync runs without first asking
   * whether there is anything to do, and lists nothing for the next push to
   * compare (docs/sync.md, "A sync with nothing to do").
   */
  knownChanged?: boolean;
}

export interface FetchRequest extends TransferOptions {
  remote: RemoteShell;
  /** The project's folder on the host. */
  remoteDir: string;
  /** Where the fetched paths land, keeping their place relative to remoteDir. */
  localDir: string;
  /** Paths relative to remoteDir, e.g. ['outputs/']. Default: ['.'] (everything). */
  paths?: readonly string[];
  /** rsync-style patterns not fetched. */
  exclude?: readonly string[];
}

export type WatchEvent =
  | { type: 'watching'; localDir: string }
  | { type: 'sync-start'; reason: 'initial' | 'change'; paths: string[] }
  | { type: 'sync-complete'; summary: SyncSummary }
  | { type: 'sync-failed'; error: Error; attempt: number; retryInMs: number | undefined }
  | { type: 'stopped' };

export interface WatchRequest extends Omit<PushRequest, 'dryRun' | 'signal'> {
  /** Stops watching; a running rsync is cancelled. */
  signal: AbortSignal;
  /** Quiet time after the last change before syncing. Default: 75 ms (DEFAULT_DEBOUNCE_MS). */
  debounceMs?: number;
  /** Push once before watching. Default: true. */
  initialSync?: boolean;
  /** Longest wait between retries after a failure. Default: 30 s. */
  maxBackoffMs?: number;
}

/** sync.strategy: which SyncManager pushes the project. */
export type SyncStrategy = 'rsync' | 'rclone';

export interface SyncManager {
  /** Makes remoteDir mirror localDir (within the rules). */
  push(request: PushRequest): Promise<SyncSummary>;
  /** Copies host paths back; never deletes local files, keeps newer local ones. */
  fetch(request: FetchRequest): Promise<SyncSummary>;
  /** Pushes on every local change until the signal aborts; resolves then. */
  watch(request: WatchRequest, onEvent: (event: WatchEvent) => void): Promise<void>;
}
