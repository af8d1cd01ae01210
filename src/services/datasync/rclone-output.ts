import type { DataSyncProgress } from './types.ts';

/** One line of `rclone --use-json-log` output, the fields we read. */
export interface RcloneLogLine {
  level: string;
  msg: string;
  object?: string;
  skipped?: string;
  stats?: RcloneStats;
}

export interface RcloneStats {
  bytes: number;
  totalBytes: number;
  speed: number;
  transfers: number;
  totalTransfers: number;
  checks: number;
  errors: number;
  eta: number | null;
  elapsedTime: number;
}

/** A JSON log line, or undefined for anything else (a remote login shell's noise). */
export function parseLogLine(line: string): RcloneLogLine | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(trimmed) as Record<string, unknown>;
    if (typeof value.level !== 'string' || typeof value.msg !== 'string') return undefined;
    return value as unknown as RcloneLogLine;
  } catch {
    return undefined;
  }
}

export function progressFromStats(stats: RcloneStats): DataSyncProgress {
  const totalBytes = stats.totalBytes ?? 0;
  return {
    bytes: stats.bytes ?? 0,
    totalBytes,
    percent: totalBytes > 0 ? Math.min(100, Math.floor(((stats.bytes ?? 0) / totalBytes) * 100)) : 0,
    bytesPerSecond: Math.round(stats.speed ?? 0),
    transfers: stats.transfers ?? 0,
    totalTransfers: stats.totalTransfers ?? 0,
    ...(typeof stats.eta === 'number' ? { etaSeconds: stats.eta } : {}),
    errors: stats.errors ?? 0,
  };
}

/**
 * Collects what rclone reports while it runs: the files it copied (or, in a
 * dry run, skipped), the latest stats, and error messages. Feed it stderr
 * chunks as they come; lines may be split across chunks.
 */
export class RcloneOutput {
  readonly changes: string[] = [];
  readonly errors: string[] = [];
  /** Lines that were not rclone's JSON (e.g. "rclone: command not found"). */
  readonly otherLines: string[] = [];
  stats: RcloneStats | undefined;
  #pending = '';
  readonly #onProgress: ((progress: DataSyncProgress) => void) | undefined;
  readonly #onLog: ((line: string) => void) | undefined;

  constructor(onProgress?: (progress: DataSyncProgress) => void, onLog?: (line: string) => void) {
    this.#onProgress = onProgress;
    this.#onLog = onLog;
  }

  push(chunk: string): void {
    const lines = (this.#pending + chunk).split('\n');
    this.#pending = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  end(): void {
    if (this.#pending) this.#line(this.#pending);
    this.#pending = '';
  }

  #line(text: string): void {
    const line = parseLogLine(text);
    if (!line) {
      if (text.trim()) {
        this.otherLines.push(text.trim());
        this.#onLog?.(text.trim());
      }
      return;
    }
    this.#onLog?.(`rclone ${line.level}: ${line.object ? `${line.object}: ` : ''}${line.msg.trim().replace(/\s*\n\s*/g, ' · ')}`);
    if (line.stats) {
      this.stats = line.stats;
      this.#onProgress?.(progressFromStats(line.stats));
      return;
    }
    if (line.object && (/^Copied /.test(line.msg) || line.skipped === 'copy')) this.changes.push(line.object);
    if (line.level === 'error' || line.level === 'critical') this.errors.push(line.object ? `${line.object}: ${line.msg}` : line.msg);
  }
}
