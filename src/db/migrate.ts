import { chmodSync, existsSync } from 'node:fs';
import { isUserError } from '../core/errors.ts';
import { migrationFailedError, toStateError, tooNewError } from './errors.ts';
import { latestVersion, type Migration } from './migrations.ts';
import type { DatabaseSync } from './sqlite.ts';

/** The schema version of an open database: 0 for a new (or foreign) file. Only reads. */
export function readSchemaVersion(db: DatabaseSync): number {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get();
  if (!table) return 0;
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as { version: number | null } | undefined;
  return row?.version ?? 0;
}

/**
 * A consistent copy of the database before its schema changes, next to it:
 * `state.db.bak-v<N>-<UTC time>`. VACUUM INTO reads one snapshot, so the copy
 * includes what is still in the WAL and never catches a half-written state.
 * The copy is a plain (non-WAL) SQLite file: restoring is a `cp`.
 */
export function backupDatabase(db: DatabaseSync, file: string, version: number, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
  let target = `${file}.bak-v${version}-${stamp}`;
  // Two processes upgrading in the same millisecond would collide on the name.
  if (existsSync(target)) target = `${target}-${process.pid}`;
  db.prepare('VACUUM INTO ?').run(target);
  chmodSync(target, 0o600);
  return target;
}

export interface MigrateOptions {
  file: string;
  migrations: readonly Migration[];
  now: Date;
  /** The pre-upgrade copy, named in the error if the upgrade fails. */
  backup?: string;
}

export interface MigrateResult {
  from: number;
  to: number;
}

/**
 * Brings the schema to the latest version. All pending migrations run in one
 * IMMEDIATE transaction: a concurrent mltoolbox waits for it (busy timeout)
 * and then finds nothing left to do, and a failure rolls everything back, so
 * the file is either fully upgraded or exactly as it was.
 */
export function migrate(db: DatabaseSync, options: MigrateOptions): MigrateResult {
  const latest = latestVersion(options.migrations);
  db.exec('BEGIN IMMEDIATE');
  let from = 0;
  try {
    from = readSchemaVersion(db);
    if (from > latest) throw tooNewError(options.file, from, latest);
    if (from < latest) {
      db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      )`);
      const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
      const pending = [...options.migrations].filter((m) => m.version > from).sort((a, b) => a.version - b.version);
      for (const migration of pending) {
        migration.up(db);
        record.run(migration.version, migration.name, options.now.toISOString());
      }
    }
    db.exec('COMMIT');
    return { from, to: Math.max(from, latest) };
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    // Corruption, a lock or a full disk is not the migration's fault: say so.
    const known = toStateError(error, options.file);
    if (known !== error || isUserError(error)) throw known;
    throw migrationFailedError(options.file, from, latest, options.backup, error);
  }
}
