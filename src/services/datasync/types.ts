/** Where rclone runs: here, on the host (over ssh), or inside the dev container. */
export type DataSyncMode = 'local' | 'host' | 'container';

/** up: local folder -> rclone remote; down: the reverse. */
export type DataSyncDirection = 'up' | 'down';

export interface DataSyncRequest {
  direction: DataSyncDirection;
  /** The folder on the side where rclone runs (absolute there). */
  localDir: string;
  /** An rclone path, e.g. `gdrive:datasets/cifar` or `:local:/mnt/data`. */
  remotePath: string;
  transfers?: number;
  checkers?: number;
  /** rclone size, e.g. `64M`: upload chunk size (`--drive-chunk-size`). */
  chunkSize?: string;
  /** rclone size: files above it are copied with several streams (`--multi-thread-cutoff`). */
  cutoff?: string;
  /** rclone filter patterns never copied. */
  exclude?: readonly string[];
  dryRun?: boolean;
  /** RCLONE_CONFIG for rclone: a path where rclone runs. Absent: rclone's own default. */
  configFile?: string;
  onProgress?: (progress: DataSyncProgress) => void;
  /** Every rclone log line (messages only, for -v). */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

export interface DataSyncProgress {
  bytes: number;
  totalBytes: number;
  /** 0–100 over the bytes known so far. */
  percent: number;
  bytesPerSecond: number;
  transfers: number;
  totalTransfers: number;
  /** Seconds left, when rclone can tell. */
  etaSeconds?: number;
  errors: number;
}

export interface DataSyncSummary {
  direction: DataSyncDirection;
  dryRun: boolean;
  source: string;
  destination: string;
  /** Files copied (or, in a dry run, that would be). */
  filesTransferred: number;
  bytes: number;
  checks: number;
  errors: number;
  durationMs: number;
  /** Paths copied or, in a dry run, that would be; relative to the source. */
  changes: string[];
}

/** What the executor reports after rclone ends. */
export interface RcloneRunResult {
  code: number;
  stderr: string;
  /** The program could not be started at all (not installed). */
  notFound?: boolean;
}

/**
 * Runs an rclone argv somewhere (this machine, a host over ssh, a container)
 * with extra environment variables, streaming its stderr. The sync manager
 * does not know how the process is reached, only what rclone said.
 */
export interface RcloneExecutor {
  mode: DataSyncMode;
  /** For messages: `this machine`, `gpu-box`, `container x on gpu-box`. */
  where: string;
  /** What to do when rclone is missing there. */
  installHint: string;
  run(argv: readonly string[], options: { env: Record<string, string>; onStderr: (chunk: string) => void; signal?: AbortSignal }): Promise<RcloneRunResult>;
}
