import type { DatabaseSync } from '../sqlite.ts';
import type { RemoteRecord } from '../types.ts';

/**
 * What importing another tool's state needs: small key/value markers
 * ("v2 state imported on …") and inserting a remote with its original
 * timestamps, which `upsertRemote` deliberately never takes from callers.
 */
export interface ImportsRepository {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Inserts the remote as given; false (and nothing written) when the alias is already saved. */
  insertRemoteIfAbsent(record: RemoteRecord): boolean;
}

export function createImportsRepository(db: DatabaseSync, now: () => Date): ImportsRepository {
  return {
    getMeta(key) {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      return row?.value;
    },
    setMeta(key, value) {
      db.prepare(`
        INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`).run(key, value, now().toISOString());
    },
    insertRemoteIfAbsent(record) {
      const result = db.prepare(`
        INSERT INTO remotes (alias, host, user, port, identity_file, created_at, last_used_at)
        VALUES (:alias, :host, :user, :port, :identity_file, :created_at, :last_used_at)
        ON CONFLICT (alias) DO NOTHING`).run({
        alias: record.alias,
        host: record.host,
        user: record.user,
        port: record.port,
        identity_file: record.identityFile,
        created_at: record.createdAt,
        last_used_at: record.lastUsedAt,
      });
      return Number(result.changes) > 0;
    },
  };
}
