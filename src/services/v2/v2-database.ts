import { join } from 'node:path';

/**
 * Reads mltoolbox v2's SQLite state (`~/.config/mltoolbox/mltoolbox.db`):
 * remotes(id, alias, username, host, git_name, last_used, created_at,
 * identity_file), projects(id, name, container_name, created_at, conda_env,
 * port_mappings) and remote_projects(remote_id, project_id).
 *
 * The file is opened read-only and never written. A missing table or
 * column, a corrupt file or a bad row becomes a warning, never an error:
 * whatever can be read is returned.
 */
export interface V2Remote {
  id: number;
  alias: string;
  host: string;
  username: string | null;
  gitName: string | null;
  identityFile: string | null;
  /** As v2 stored them (SQLAlchemy: "2024-05-01 12:00:00.123456", naive UTC). */
  createdAt: string | null;
  lastUsed: string | null;
}

export interface V2Project {
  id: number;
  name: string;
  containerName: string | null;
  createdAt: string | null;
  condaEnv: string | null;
  /** The JSON as stored (parsed when it is valid JSON). */
  portMappings: unknown;
}

export interface V2State {
  file: string;
  remotes: V2Remote[];
  projects: V2Project[];
  links: Array<{ remoteId: number; projectId: number }>;
  warnings: string[];
}

/** The slice of node:sqlite this needs, so tests and the db layer can hand it in. */
export interface ReadOnlySqlite {
  DatabaseSync: new (file: string, options: { readOnly: boolean }) => {
    prepare(sql: string): { all(...params: unknown[]): unknown[] };
    close(): void;
  };
}

/** v2 did not follow XDG: its database is always under ~/.config. */
export function v2DatabaseFile(homeDir: string): string {
  return join(homeDir, '.config', 'mltoolbox', 'mltoolbox.db');
}

type Row = Record<string, unknown>;

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export function readV2Database(file: string, sqlite: ReadOnlySqlite): V2State {
  const state: V2State = { file, remotes: [], projects: [], links: [], warnings: [] };
  let db: InstanceType<ReadOnlySqlite['DatabaseSync']>;
  try {
    db = new sqlite.DatabaseSync(file, { readOnly: true });
  } catch (error) {
    state.warnings.push(`cannot open the v2 database ${file}: ${(error as Error).message}`);
    return state;
  }
  try {
    const columns = (table: string): Set<string> | undefined => {
      const rows = db.prepare(`PRAGMA table_info(${table})`).all() as Row[];
      return rows.length === 0 ? undefined : new Set(rows.map((row) => String(row.name)));
    };
    const read = (table: string, required: readonly string[], optional: readonly string[]): Row[] => {
      const have = columns(table);
      if (!have) {
        state.warnings.push(`the v2 database has no ${table} table; nothing read from it`);
        return [];
      }
      const missing = required.filter((column) => !have.has(column));
      if (missing.length > 0) {
        state.warnings.push(`the v2 ${table} table has no ${missing.join(', ')} column; nothing read from it`);
        return [];
      }
      const absent = optional.filter((column) => !have.has(column));
      if (absent.length > 0) state.warnings.push(`the v2 ${table} table has no ${absent.join(', ')} column; read the rest`);
      const select = [...required, ...optional.filter((column) => have.has(column))].map((c) => `"${c}"`).join(', ');
      return db.prepare(`SELECT ${select} FROM ${table}`).all() as Row[];
    };

    for (const row of safely(state, 'remotes', () => read('remotes', ['id', 'alias', 'host'], ['username', 'git_name', 'last_used', 'created_at', 'identity_file']))) {
      if (typeof row.id !== 'number' && typeof row.id !== 'bigint') continue;
      const alias = text(row.alias);
      const host = text(row.host);
      if (!alias || !host) {
        state.warnings.push(`v2 remote #${String(row.id)} has no ${alias ? 'host' : 'alias'}; skipped`);
        continue;
      }
      state.remotes.push({
        id: Number(row.id),
        alias,
        host,
        username: text(row.username),
        gitName: text(row.git_name),
        identityFile: text(row.identity_file),
        createdAt: text(row.created_at),
        lastUsed: text(row.last_used),
      });
    }
    for (const row of safely(state, 'projects', () => read('projects', ['id', 'name'], ['container_name', 'created_at', 'conda_env', 'port_mappings']))) {
      const name = text(row.name);
      if (!name) {
        state.warnings.push(`v2 project #${String(row.id)} has no name; skipped`);
        continue;
      }
      state.projects.push({
        id: Number(row.id),
        name,
        containerName: text(row.container_name),
        createdAt: text(row.created_at),
        condaEnv: text(row.conda_env),
        portMappings: parseJson(row.port_mappings),
      });
    }
    for (const row of safely(state, 'remote_projects', () => read('remote_projects', ['remote_id', 'project_id'], []))) {
      if (row.remote_id === null || row.project_id === null) continue;
      state.links.push({ remoteId: Number(row.remote_id), projectId: Number(row.project_id) });
    }
  } finally {
    db.close();
  }
  return state;
}

function safely(state: V2State, table: string, work: () => Row[]): Row[] {
  try {
    return work();
  } catch (error) {
    state.warnings.push(`cannot read the v2 ${table} table: ${(error as Error).message}`);
    return [];
  }
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** v2's timestamps ("2024-05-01 12:00:00.123456", naive UTC, or ISO) as ISO-8601 UTC; undefined when unreadable. */
export function v2TimestampToIso(value: string | null): string | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/.test(trimmed);
  const iso = trimmed.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1');
  const date = new Date(zoned ? iso : `${iso}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
