import { hostFromRow, RELAY_MIGRATIONS, RELAY_SCHEMA_VERSION, tokenFromRow, type HostRow, type OperationRecord, type RelayStore, type TokenRow } from './store.ts';

/**
 * The team relay's store: PostgreSQL through `pg` (a small pool). Migrations
 * run in one transaction under an advisory lock, so two relays starting
 * together against one database do not race.
 */
export async function openPostgresRelayStore(url: string, password: string | undefined, now: () => Date): Promise<RelayStore> {
  const { default: pg } = await import('pg');
  // pg lets the connection string win over a separate password: put it into the URL, in memory only.
  const withPassword = new URL(url);
  if (password !== undefined && withPassword.password === '') withPassword.password = password;
  const pool = new pg.Pool({ connectionString: withPassword.toString(), max: 5, connectionTimeoutMillis: 5000 });
  // An idle client's error (server restart) must not crash the relay.
  pool.on('error', () => {});
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('mltoolbox-relay-migrations'))");
    await client.query('CREATE TABLE IF NOT EXISTS relay_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = Number((await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM relay_schema_version')).rows[0]?.v ?? 0);
    if (current > RELAY_SCHEMA_VERSION) throw new Error(`the relay database has schema v${current}; this mltoolbox knows up to v${RELAY_SCHEMA_VERSION}`);
    for (const migration of RELAY_MIGRATIONS.filter((m) => m.version > current)) {
      for (const statement of migration.statements) await client.query(statement);
      await client.query('INSERT INTO relay_schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, now().toISOString()]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
    await pool.end();
    throw error;
  }
  client.release();
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
  return {
    kind: 'postgres',
    schemaVersion: RELAY_SCHEMA_VERSION,
    async insertToken(r) {
      await pool.query('INSERT INTO relay_tokens (id, name, scope, host, hash, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [r.id, r.name, r.scope, r.host, r.hash, r.createdAt, r.lastUsedAt, r.revokedAt]);
    },
    async listTokens() {
      return (await pool.query<TokenRow>('SELECT * FROM relay_tokens ORDER BY created_at, id')).rows.map(tokenFromRow);
    },
    async findToken(id) {
      const row = (await pool.query<TokenRow>('SELECT * FROM relay_tokens WHERE id = $1', [id])).rows[0];
      return row ? tokenFromRow(row) : undefined;
    },
    async revokeToken(idOrName, at) {
      return ids((await pool.query<{ id: string }>('UPDATE relay_tokens SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL RETURNING id', [at, idOrName])).rows);
    },
    async revokeHostTokens(host, at) {
      return ids((await pool.query<{ id: string }>("UPDATE relay_tokens SET revoked_at = $1 WHERE scope = 'agent' AND host = $2 AND revoked_at IS NULL RETURNING id", [at, host])).rows);
    },
    async touchToken(id, at) {
      await pool.query('UPDATE relay_tokens SET last_used_at = $1 WHERE id = $2', [at, id]);
    },
    async upsertHost(host, at) {
      await pool.query(`INSERT INTO relay_hosts (name, hostname, agent_version, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)
        ON CONFLICT (name) DO UPDATE SET hostname = excluded.hostname, agent_version = excluded.agent_version, last_seen_at = excluded.last_seen_at`,
      [host.name, host.hostname, host.agentVersion, at]);
    },
    async listHosts() {
      return (await pool.query<HostRow>('SELECT * FROM relay_hosts ORDER BY name')).rows.map(hostFromRow);
    },
    async saveOperation(record) {
      await pool.query('INSERT INTO relay_operations (id, created_at, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
        [record.id, record.createdAt, JSON.stringify(record)]);
    },
    async listOperations(limit) {
      return (await pool.query<{ body: string }>('SELECT body FROM relay_operations ORDER BY created_at DESC, id LIMIT $1', [limit])).rows.map((r) => JSON.parse(r.body) as OperationRecord);
    },
    async findOperation(id) {
      const row = (await pool.query<{ body: string }>('SELECT body FROM relay_operations WHERE id = $1', [id])).rows[0];
      return row ? (JSON.parse(row.body) as OperationRecord) : undefined;
    },
    async close() {
      await pool.end();
    },
  };
}
