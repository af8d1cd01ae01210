import { inTransaction, type DatabaseSync } from '../sqlite.ts';
import type { RemoteInput, RemoteRecord } from '../types.ts';

export interface RemotesRepository {
  /** Saves a remote; an existing alias is updated (its created/last-used times are kept). */
  upsertRemote(input: RemoteInput): { remote: RemoteRecord; created: boolean };
  getRemote(alias: string): RemoteRecord | undefined;
  /** Sorted by alias. */
  listRemotes(): RemoteRecord[];
  /** The removed remote, or undefined when there was none by that alias. */
  removeRemote(alias: string): RemoteRecord | undefined;
  /** Marks a remote as just used; false when the alias is not saved. */
  touchRemote(alias: string): boolean;
}

interface RemoteRow {
  alias: string;
  host: string;
  user: string | null;
  port: number | null;
  identity_file: string | null;
  created_at: string;
  last_used_at: string | null;
}

const COLUMNS = 'alias, host, user, port, identity_file, created_at, last_used_at';

function toRecord(row: RemoteRow): RemoteRecord {
  return {
    alias: row.alias,
    host: row.host,
    user: row.user,
    port: row.port,
    identityFile: row.identity_file,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export function createRemotesRepository(db: DatabaseSync, now: () => Date): RemotesRepository {
  const get = (alias: string) => {
    const row = db.prepare(`SELECT ${COLUMNS} FROM remotes WHERE alias = ?`).get(alias) as RemoteRow | undefined;
    return row && toRecord(row);
  };
  return {
    upsertRemote(input) {
      return inTransaction(db, () => {
        const created = get(input.alias) === undefined;
        const row = db.prepare(`
          INSERT INTO remotes (alias, host, user, port, identity_file, created_at)
          VALUES (:alias, :host, :user, :port, :identity_file, :now)
          ON CONFLICT (alias) DO UPDATE SET
            host = excluded.host, user = excluded.user, port = excluded.port, identity_file = excluded.identity_file
          RETURNING ${COLUMNS}`).get({
          alias: input.alias,
          host: input.host,
          user: input.user ?? null,
          port: input.port ?? null,
          identity_file: input.identityFile ?? null,
          now: now().toISOString(),
        }) as unknown as RemoteRow;
        return { remote: toRecord(row), created };
      });
    },
    getRemote: get,
    listRemotes() {
      const rows = db.prepare(`SELECT ${COLUMNS} FROM remotes ORDER BY alias`).all() as unknown as RemoteRow[];
      return rows.map(toRecord);
    },
    removeRemote(alias) {
      const row = db.prepare(`DELETE FROM remotes WHERE alias = ? RETURNING ${COLUMNS}`).get(alias) as RemoteRow | undefined;
      return row && toRecord(row);
    },
    touchRemote(alias) {
      const result = db.prepare('UPDATE remotes SET last_used_at = ? WHERE alias = ?').run(now().toISOString(), alias);
      return Number(result.changes) > 0;
    },
  };
}
