import type { TokenRecord } from './tokens.ts';

/**
 * What the relay keeps across restarts: tokens (hashed) and the hosts that
 * ever connected. Live figures (metrics, containers, logs) stay in memory in
 * the hub: they are stale a second later and would only wear the disk.
 * Two implementations: SQLite (default, node:sqlite) and PostgreSQL (pg).
 */
export interface HostRecord {
  name: string;
  hostname: string | null;
  agentVersion: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface RelayStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The schema version after migrating. */
  readonly schemaVersion: number;
  insertToken(record: TokenRecord): Promise<void>;
  listTokens(): Promise<TokenRecord[]>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  /** Revokes by id or name; returns the ids revoked (already revoked ones are not counted). */
  revokeToken(idOrName: string, at: string): Promise<string[]>;
  /** Revokes every live agent token of a host (add-host issues a fresh one). */
  revokeHostTokens(host: string, at: string): Promise<string[]>;
  touchToken(id: string, at: string): Promise<void>;
  upsertHost(host: { name: string; hostname: string | null; agentVersion: string | null }, at: string): Promise<void>;
  listHosts(): Promise<HostRecord[]>;
  /** Operations (long work run by a CLI worker): kept so a result stays queryable after the relay restarts. */
  saveOperation(record: OperationRecord): Promise<void>;
  /** The newest first, at most `limit`. */
  listOperations(limit: number): Promise<OperationRecord[]>;
  findOperation(id: string): Promise<OperationRecord | undefined>;
  close(): Promise<void>;
}

/** One operation: `connect`, `sync` or `provision` run by a detached CLI worker, reported to the relay. */
export interface OperationRecord {
  id: string;
  kind: string;
  /** The command line it runs, for people (never a secret: the CLI refuses secrets in argv). */
  title: string;
  target: string | null;
  /** The user token's name that started it; only that token may report its progress. */
  owner: string;
  ownerTokenId: string;
  /**
   * `cancelling`: `ops cancel` asked the worker to stop and it has not said it did;
   * `cancelled`: it stopped (cleanly: a provision terminated what it launched).
   */
  state: 'running' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled' | 'lost';
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** The last progress line, and a percentage when the work knows one. */
  progress: string | null;
  percent: number | null;
  exitCode: number | null;
  /** The command's --json result, when it succeeded. */
  result: unknown;
  error: { code: string; message: string; hint?: string } | null;
  /** Where the worker runs (its machine's hostname and pid), for people; the relay never signals it. */
  worker: { machine: string; pid: number } | null;
  /** When `ops cancel` asked the worker to stop, and the token name that asked (records from before cancel lack both). */
  cancelRequestedAt?: string | null;
  cancelledBy?: string | null;
}

/**
 * Versioned migrations, one list for both engines (the SQL is the portable
 * subset: TEXT columns, ISO-8601 timestamps). Add a version; never edit one.
 */
export const RELAY_MIGRATIONS: readonly { version: number; name: string; statements: readonly string[] }[] = [
  {
    version: 1,
    name: 'tokens and hosts',
    statements: [
      `CREATE TABLE relay_tokens (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        scope        TEXT NOT NULL CHECK (scope IN ('user', 'agent')),
        host         TEXT,
        hash         TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT
      )`,
      'CREATE INDEX relay_tokens_name ON relay_tokens (name)',
      `CREATE TABLE relay_hosts (
        name          TEXT PRIMARY KEY,
        hostname      TEXT,
        agent_version TEXT,
        first_seen_at TEXT NOT NULL,
        last_seen_at  TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'operations',
    statements: [
      // The record is one JSON document (it changes shape with the work); id and created_at are what is searched.
      `CREATE TABLE relay_operations (
        id         TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        body       TEXT NOT NULL
      )`,
      'CREATE INDEX relay_operations_created ON relay_operations (created_at)',
    ],
  },
];

export const RELAY_SCHEMA_VERSION = Math.max(...RELAY_MIGRATIONS.map((m) => m.version));

export interface TokenRow {
  id: string;
  name: string;
  scope: string;
  host: string | null;
  hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function tokenFromRow(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope === 'agent' ? 'agent' : 'user',
    host: row.host,
    hash: row.hash,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export interface HostRow {
  name: string;
  hostname: string | null;
  agent_version: string | null;
  first_seen_at: string;
  last_seen_at: string;
}

export function hostFromRow(row: HostRow): HostRecord {
  return { name: row.name, hostname: row.hostname, agentVersion: row.agent_version, firstSeenAt: row.first_seen_at, lastSeenAt: row.last_seen_at };
}
