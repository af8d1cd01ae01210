import type { DatabaseSync } from './sqlite.ts';

/**
 * The schema, as an append-only list. Never edit a released migration: add
 * the next version. A migration runs inside the migration transaction, so it
 * must not COMMIT, VACUUM or change journal_mode. Columns that hold a remote
 * store its alias as text (see types.ts), projects are referenced by id.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: DatabaseSync): void;
}

const sql = (version: number, name: string, statements: string): Migration => ({
  version,
  name,
  up: (db) => db.exec(statements),
});

export const MIGRATIONS: readonly Migration[] = [
  sql(1, 'remotes and projects', `
    CREATE TABLE remotes (
      id            INTEGER PRIMARY KEY,
      alias         TEXT NOT NULL UNIQUE,
      host          TEXT NOT NULL,
      user          TEXT,
      port          INTEGER CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
      identity_file TEXT,
      created_at    TEXT NOT NULL,
      last_used_at  TEXT
    );
    CREATE TABLE projects (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      local_path  TEXT NOT NULL UNIQUE,
      name        TEXT NOT NULL,
      created_at  TEXT NOT NULL,
      last_remote TEXT
    );
    CREATE TABLE project_remotes (
      project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      remote            TEXT NOT NULL,
      remote_dir        TEXT NOT NULL,
      last_sync_at      TEXT,
      last_sync_summary TEXT CHECK (last_sync_summary IS NULL OR json_valid(last_sync_summary)),
      PRIMARY KEY (project_id, remote)
    );
  `),
  sql(2, 'containers and port forwards', `
    CREATE TABLE containers (
      project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      remote       TEXT NOT NULL,
      container_id TEXT NOT NULL,
      name         TEXT NOT NULL,
      image        TEXT NOT NULL,
      config_hash  TEXT NOT NULL,
      status       TEXT NOT NULL,
      created_at   TEXT NOT NULL,
      PRIMARY KEY (project_id, remote)
    );
    CREATE TABLE port_forwards (
      id           INTEGER PRIMARY KEY AUTOINCREMENT,
      project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      remote       TEXT NOT NULL,
      local_port   INTEGER NOT NULL CHECK (local_port BETWEEN 1 AND 65535),
      remote_port  INTEGER NOT NULL CHECK (remote_port BETWEEN 1 AND 65535),
      pid          INTEGER,
      control_path TEXT,
      created_at   TEXT NOT NULL
    );
    CREATE INDEX port_forwards_by_project ON port_forwards (project_id, remote);
  `),
  sql(3, 'meta', `
    CREATE TABLE meta (
      key        TEXT PRIMARY KEY,
      value      TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
  `),
  sql(4, 'provisioned instances', `
    CREATE TABLE instances (
      id                   INTEGER PRIMARY KEY AUTOINCREMENT,
      name                 TEXT NOT NULL UNIQUE,
      backend              TEXT NOT NULL,
      provider_id          TEXT,
      offer_id             TEXT NOT NULL,
      instance_type        TEXT NOT NULL,
      region               TEXT NOT NULL,
      gpu                  TEXT NOT NULL,
      gpu_count            INTEGER NOT NULL,
      price_per_hour       REAL NOT NULL,
      shape                TEXT NOT NULL CHECK (shape IN ('vm', 'container')),
      state                TEXT NOT NULL,
      ssh_host             TEXT,
      ssh_port             INTEGER CHECK (ssh_port IS NULL OR ssh_port BETWEEN 1 AND 65535),
      ssh_user             TEXT,
      host_key_alias       TEXT,
      known_hosts_file     TEXT,
      owner_pid            INTEGER,
      idle_timeout_minutes INTEGER,
      idle_action          TEXT,
      project_path         TEXT,
      stray                INTEGER NOT NULL DEFAULT 0,
      error                TEXT,
      created_at           TEXT NOT NULL,
      active_at            TEXT,
      ended_at             TEXT,
      updated_at           TEXT NOT NULL,
      UNIQUE (backend, provider_id)
    );
  `),
];

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}
