import { UserError } from '../../core/errors.ts';
import type { DataSyncRequest } from './types.ts';

const SIZE = /^\d+(?:\.\d+)?(?:[bkmgtpe]i?)?$/i;

/** Credentials in an rclone connection string (`:s3,secret_access_key=...:bucket`) would land on argv. */
const SECRET_PARAMETER = /(?:^|[,:])[\w-]*(?:pass|secret|token|key|password|credentials?)[\w-]*=/i;

export function validateSize(value: string, flag: string): string {
  if (!SIZE.test(value.trim())) {
    throw new UserError('USAGE', `${flag} ${value} is not a size`, `use an rclone size such as 64M, 256Mi or 1G`);
  }
  return value.trim();
}

export function validateCount(value: string | number, flag: string): number {
  const text = String(value).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1024) {
    throw new UserError('USAGE', `${flag} ${text} is not a whole number from 1 to 1024`, `e.g. ${flag} 8`);
  }
  return n;
}

/** Rejects rclone paths that would be read as options, or would carry credentials on argv. */
export function validateRemotePath(path: string): string {
  if (path.trim() === '') throw new UserError('USAGE', 'the rclone path is empty', 'pass -r REMOTE:PATH, e.g. -r gdrive:datasets');
  if (path.startsWith('-')) throw new UserError('USAGE', `the rclone path ${path} starts with '-'`, 'pass -r REMOTE:PATH, e.g. -r gdrive:datasets');
  const connection = /^(:?[\w-]*,[^:]*):/.exec(path);
  if (connection && SECRET_PARAMETER.test(connection[1]!)) {
    throw new UserError('USAGE', 'the rclone path carries credentials in a connection string',
      "put them in rclone's config file instead (rclone config), and name the remote: -r myremote:path");
  }
  return path;
}

/**
 * rclone's argv (after the program name). `copy`, never `sync`: data on the
 * other side is never deleted. JSON logs on stderr carry per-file lines (-v)
 * and a stats object every second; nothing secret is ever on the command line
 * (rclone reads its remotes from its own config file).
 */
export function buildRcloneArgs(request: DataSyncRequest): string[] {
  const [source, destination] = request.direction === 'up' ? [request.localDir, request.remotePath] : [request.remotePath, request.localDir];
  const args = ['copy', source, destination, '--use-json-log', '-v', '--stats', '1s', '--stats-log-level', 'NOTICE'];
  if (request.transfers !== undefined) args.push('--transfers', String(request.transfers));
  if (request.checkers !== undefined) args.push('--checkers', String(request.checkers));
  if (request.chunkSize !== undefined) args.push('--drive-chunk-size', request.chunkSize);
  if (request.cutoff !== undefined) args.push('--multi-thread-cutoff', request.cutoff);
  for (const pattern of request.exclude ?? []) args.push(`--exclude=${pattern}`);
  if (request.dryRun) args.push('--dry-run');
  return args;
}

/** `-e a,b -e c` -> [a, b, c]. */
export function splitPatterns(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((p) => p.trim()).filter(Boolean);
}
