import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadSqlite, type DatabaseSync } from '../../db/sqlite.ts';
import { hostFromRow, RELAY_MIGRATIONS, RELAY_SCHEMA_VERSION, tokenFromRow, type HostRow, type OperationRecord, type RelayStore, type TokenRow } from './store.ts';
import type { TokenRecord } from './tokens.ts';

/** The default relay store: one SQLite file (mode 0600), WAL, migrations in one transaction. */
export async function openSqliteRelayStore(file: string, now: () => Date): Promise<RelayStore> {
  const { DatabaseSync } = await loadSqlite();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db: DatabaseSync = new DatabaseSync(file);
  chmodSync(file, 0o600);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS relay_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = (db.prepare('SELECT MAX(version) AS v FROM relay_schema_version').get() as { v: number | null }).v ?? 0;
    if (current > RELAY_SCHEMA_VERSION) throw new Error(`relay database ${file} has schema v${current}; this mltoolbox knows up to v${RELAY_SCHEMA_VERSION}`);
    for (const migration of RELAY_MIGRATIONS.filter((m) => m.version > current)) {
      for (const statement of migration.statements) db.exec(statement);
      db.prepare('INSERT INTO relay_schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, now().toISOString());
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    db.close();
    throw error;
  }
  return {
    kind: 'sqlite',
    schemaVersion: RELAY_SCHEMA_VERSION,
    async insertToken(r: TokenRecord) {
      db.prepare('INSERT INTO relay_tokens (id, name, scope, host, hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(r.id, r.name, r.scope, r.host, r.hash, r.createdAt, r.lastUsedAt, r.revokedAt);
    },
    async listTokens() {
      return (db.prepare('SELECT * FROM relay_tokens ORDER BY created_at, id').all() as unknown as TokenRow[]).map(tokenFromRow);
    },
    async findToken(id) {
      const row = db.prepare('SELECT * FROM relay_tokens WHERE id = ?').get(id) as TokenRow | undefined;
      return row ? tokenFromRow(row) : undefined;
    },
    async revokeToken(idOrName, at) {
      const rows = db.prepare('UPDATE relay_tokens SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL RETURNING id').all(at, idOrName, idOrName) as { id: string }[];
      return rows.map((r) => r.id);
    },
    async revokeHostTokens(host, at) {
      const rows = db.prepare("UPDATE relay_tokens SET revoked_at = ? WHERE scope = 'agent' AND host = ? AND revoked_at IS NULL RETURNING id").all(at, host) as { id: string }[];
      return rows.map((r) => r.id);
    },
    async touchToken(id, at) {
      db.prepare('UPDATE relay_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
    },
    async upsertHost(host, at) {
      db.prepare(`INSERT INTO relay_hosts (name, hostname, agent_version, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET hostname = excluded.hostname, agent_version = excluded.agent_version, last_seen_at = excluded.last_seen_at`)
        .run(host.name, host.hostname, host.agentVersion, at, at);
    },
    async listHosts() {
      return (db.prepare('SELECT * FROM relay_hosts ORDER BY name').all() as unknown as HostRow[]).map(hostFromRow);
    },
    async saveOperation(record) {
      db.prepare('INSERT INTO relay_operations (id, created_at, body) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body')
        .run(record.id, record.createdAt, JSON.stringify(record));
    },
    async listOperations(limit) {
      return (db.prepare('SELECT body FROM relay_operations ORDER BY created_at DESC, id LIMIT ?').all(limit) as { body: string }[]).map((r) => JSON.parse(r.body) as OperationRecord);
    },
    async findOperation(id) {
      const row = db.prepare('SELECT body FROM relay_operations WHERE id = ?').get(id) as { body: string } | undefined;
      return row ? (JSON.parse(row.body) as OperationRecord) : undefined;
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
}
