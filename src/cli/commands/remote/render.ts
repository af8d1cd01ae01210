import type { RemoteRecord } from '../../../orchestrators/remotes/index.ts';

/** `alice@gpu-box:2222`, leaving out what ssh decides. IPv6 gets brackets when a port follows. */
export function formatTarget(remote: Pick<RemoteRecord, 'host' | 'user' | 'port'>): string {
  const host = remote.port !== null && remote.host.includes(':') ? `[${remote.host}]` : remote.host;
  return `${remote.user !== null ? `${remote.user}@` : ''}${host}${remote.port !== null ? `:${remote.port}` : ''}`;
}

export function formatPath(path: string, homeDir: string): string {
  return path === homeDir || path.startsWith(`${homeDir}/`) ? `~${path.slice(homeDir.length)}` : path;
}

/** "never", "just now", "5 min ago", "3 h ago", "2 days ago", then the date. */
export function formatLastUsed(iso: string | null, now: Date): string {
  if (iso === null) return 'never';
  const seconds = Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 30 * 86_400) return `${Math.floor(seconds / 86_400)} days ago`;
  return iso.slice(0, 10);
}

export function renderRemoteTable(remotes: readonly RemoteRecord[], homeDir: string, now: Date): string {
  const rows = [
    ['ALIAS', 'TARGET', 'IDENTITY', 'LAST USED'],
    ...remotes.map((r) => [r.alias, formatTarget(r), r.identityFile ? formatPath(r.identityFile, homeDir) : '-', formatLastUsed(r.lastUsedAt, now)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}
