import { uniqueHex } from '../core/digest.ts';
import { closeSync, linkSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUSY_TIMEOUT_MS, corruptError, toStateError, tooNewError } from './errors.ts';
import { backupDatabase, migrate, readSchemaVersion } from './migrate.ts';
import { latestVersion, MIGRATIONS, type Migration } from './migrations.ts';
import { createContainersRepository, type ContainersRepository } from './repositories/containers.ts';
import { createForwardsRepository, type ForwardsRepository } from './repositories/forwards.ts';
import { createImportsRepository, type ImportsRepository } from './repositories/imports.ts';
import { createInstancesRepository, type InstancesRepository } from './repositories/instances.ts';
import { createProjectsRepository, type ProjectsRepository } from './repositories/projects.ts';
import { createRemotesRepository, type RemotesRepository } from './repositories/remotes.ts';
import { inTransaction, loadSqlite, type DatabaseSync } from './sqlite.ts';

/**
 * mltoolbox's memory between runs: saved remotes, known projects, their
 * syncs, dev containers and port forwards. Methods are synchronous (SQLite
 * in-process); SQLite failures come out as UserErrors (STATE_DB_*).
 */
export interface StateStore extends RemotesRepository, ProjectsRepository, ContainersRepository, ForwardsRepository, ImportsRepository, InstancesRepository {
  readonly file: string;
  readonly schemaVersion: number;
  /** The pre-upgrade copy made by this open, if the schema was upgraded. */
  readonly backup: string | undefined;
  /** What this open found damaged and repaired (each says where the damaged copy was kept): worth a warning. */
  readonly repairs: readonly string[];
  /** Runs several calls atomically (one write lock, all or nothing). */
  transaction<T>(work: () => T): T;
  /** Idempotent; the CLI closes at exit so the WAL is checkpointed and removed. */
  close(): void;
}

export interface OpenStateStoreOptions {
  file: string;
  /** The schema to reach; tests pass shorter or broken lists. */
  migrations?: readonly Migration[];
  now?: () => Date;
}

/**
 * Opens (creating if needed) and upgrades the state database. The order
 * matters: the version is read before anything is written, so a database
 * from a newer mltoolbox is left byte-for-byte untouched; an existing
 * database is copied before its schema changes; nothing here ever deletes
 * or truncates the file.
 */
export async function openStateStore(options: OpenStateStoreOptions): Promise<StateStore> {
  const { file } = options;
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  const { DatabaseSync } = await loadSqlite();
  const existed = prepareFile(file, (temp) => {
    // A new database is built beside the real name and linked into place when complete:
    // a crash never leaves an empty state.db, so an empty one is always damage.
    const fresh = new DatabaseSync(temp);
    try {
      fresh.exec('PRAGMA journal_mode = WAL');
      migrate(fresh, { file, migrations, now: now() });
    } finally {
      fresh.close();
    }
  });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
  } catch (error) {
    throw toStateError(error, file);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const found = readSchemaVersion(db);
    const latest = latestVersion(migrations);
    if (found > latest) throw tooNewError(file, found, latest);
    let backup: string | undefined;
    if (found < latest) {
      if (existed && found > 0) backup = backupDatabase(db, file, found, now());
      // WAL: readers never wait for a writer, and parallel CLI runs only queue on writes.
      db.exec('PRAGMA journal_mode = WAL');
      migrate(db, { file, migrations, now: now(), backup });
    }
    // The whole-schema comparison runs only when the schema changed since it last passed: SQLite bumps its
    // schema cookie on every CREATE, DROP and ALTER (by any tool), so a matching cookie means nothing was touched.
    const checked = schemaCheckedAt(db, latest);
    const repairs = checked === undefined ? repairMissingTables(db, new DatabaseSync(':memory:'), file, migrations, now()) : [];
    if (checked === undefined) recordSchemaChecked(db, latest, now());
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA synchronous = NORMAL');
    return guardErrors(createStateStore(db, file, latest, backup, repairs, now), file);
  } catch (error) {
    if (db.isOpen) db.close();
    throw toStateError(error, file);
  }
}

/**
 * Makes the folder (0700) and, when there is no database yet, a complete one
 * (0600, so the WAL files get 0600 too) built by `create` in a temp file and
 * linked into place (another process may win the race: its file is kept).
 * An existing empty file is damage (a truncation), never a fresh start.
 * Returns whether a database existed before.
 */
function prepareFile(file: string, create: (temp: string) => void): boolean {
  let temp: string | undefined;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const size = statSync(file, { throwIfNoEntry: false })?.size;
    if (size === 0) throw corruptError(file, new Error('the file is empty (0 bytes): it was truncated, e.g. by a full disk or a copy that failed'));
    if (size !== undefined) return true;
    temp = `${file}.new-${process.pid}-${uniqueHex(4)}`;
    closeSync(openSync(temp, 'wx', 0o600));
    create(temp);
    try {
      linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return false;
  } catch (error) {
    throw toStateError(error, file);
  } finally {
    if (temp) for (const leftover of [temp, `${temp}-wal`, `${temp}-shm`]) rmSync(leftover, { force: true });
  }
}

/**
 * Tables the schema should have but the file lacks (dropped by hand or by a
 * broken tool): the file is copied aside first, then the missing tables and
 * their indexes are created empty, so the rest of the state keeps working.
 */
function repairMissingTables(db: DatabaseSync, reference: DatabaseSync, file: string, migrations: readonly Migration[], now: Date): string[] {
  try {
    migrate(reference, { file: ':memory:', migrations, now });
    const objects = (target: DatabaseSync) =>
      target.prepare(`SELECT type, name, tbl_name AS tableName, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'`).all() as { type: string; name: string; tableName: string; sql: string }[];
    const present = new Set(objects(db).map((o) => o.name));
    const wanted = objects(reference);
    const missing = wanted.filter((o) => o.type === 'table' && !present.has(o.name)).map((o) => o.name);
    const damaged = wanted.filter((o) => o.type === 'table' && present.has(o.name))
      .map((o) => ({ table: o.name, sql: o.sql, lost: lostColumns(db, reference, o.name) }))
      .filter((t) => t.lost.length > 0);
    if (missing.length === 0 && damaged.length === 0) return [];
    const copy = backupDatabase(db, file, readSchemaVersion(db), now);
    const repairs: string[] = [];
    inTransaction(db, () => {
      for (const object of wanted) if (!present.has(object.name) && (object.type === 'table' || missing.includes(object.tableName))) db.exec(object.sql);
      for (const table of damaged) {
        const kept = rebuildTable(db, table.table, table.sql, wanted.filter((o) => o.type === 'index' && o.tableName === table.table).map((o) => o.sql));
        repairs.push(`the state database ${file} had lost the column${table.lost.length > 1 ? 's' : ''} ${table.lost.join(', ')} of its ${table.table} table (changed by hand or by another tool); `
          + `rebuilt the table${kept ? ' keeping its entries (the lost values are empty)' : ': its entries could not be kept without those values and are gone'}. `
          + `The damaged file was copied to ${copy}; to get the values back, restore an older backup (ls ${file}.bak-*; see docs/state.md)`);
      }
    });
    if (missing.length > 0) repairs.unshift(`the state database ${file} had lost its ${missing.join(', ')} table${missing.length > 1 ? 's' : ''} (their entries are gone); recreated ${missing.length > 1 ? 'them' : 'it'} empty. The damaged file was copied to ${copy}`);
    return repairs;
  } finally {
    reference.close();
  }
}

/** Where the schema check's pass is recorded (the `meta` table): `<schema version>:<SQLite schema cookie>`. */
const SCHEMA_CHECKED_KEY = 'schema_checked';

function schemaCookie(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA schema_version').get() as { schema_version: number }).schema_version);
}

/** The cookie when the schema passed its check at this cookie (and version); undefined when it must be checked (again). */
function schemaCheckedAt(db: DatabaseSync, version: number): number | undefined {
  try {
    const cookie = schemaCookie(db);
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(SCHEMA_CHECKED_KEY) as { value: string } | undefined;
    return row?.value === `${version}:${cookie}` ? cookie : undefined;
  } catch {
    return undefined; // no meta table (lost, or a foreign file): the full check says what is wrong
  }
}

/** Writing a row is not a schema change: the cookie read here stays valid until the next CREATE/DROP/ALTER. */
function recordSchemaChecked(db: DatabaseSync, version: number, now: Date): void {
  try {
    db.prepare(`INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`).run(SCHEMA_CHECKED_KEY, `${version}:${schemaCookie(db)}`, now.toISOString());
  } catch {
    // read-only or busy: the check simply runs again next time
  }
}

function columnsOf(db: DatabaseSync, table: string): string[] {
  return (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
}

/** The columns the schema gives `table` that the file's table lacks (an `ALTER TABLE … DROP COLUMN` by hand). */
function lostColumns(db: DatabaseSync, reference: DatabaseSync, table: string): string[] {
  const present = new Set(columnsOf(db, table));
  return columnsOf(reference, table).filter((column) => !present.has(column));
}

/**
 * Recreates `table` with the schema's definition and copies its rows over
 * (the lost columns get their default, or NULL). When a lost column may not
 * be empty, the rows cannot be kept: the table is recreated empty (the copy
 * made before still has them). Foreign keys are off here (opened before
 * `PRAGMA foreign_keys = ON`), and legacy renaming keeps other tables'
 * references pointing at the name. Returns whether the rows were kept.
 */
function rebuildTable(db: DatabaseSync, table: string, sql: string, indexes: readonly string[]): boolean {
  const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const temp = `${table}__rebuilt`;
  const common = columnsOf(db, table).map(quoted).join(', ');
  db.exec(sql.replace(/^CREATE TABLE\s+("?)[\w]+\1/i, `CREATE TABLE ${quoted(temp)}`));
  let kept = true;
  try {
    db.exec(`SAVEPOINT copy_rows; INSERT INTO ${quoted(temp)} (${common}) SELECT ${common} FROM ${quoted(table)}; RELEASE copy_rows`);
  } catch {
    db.exec('ROLLBACK TO copy_rows; RELEASE copy_rows');
    kept = false;
  }
  db.exec(`DROP TABLE ${quoted(table)}`);
  db.exec('PRAGMA legacy_alter_table = ON');
  try {
    db.exec(`ALTER TABLE ${quoted(temp)} RENAME TO ${quoted(table)}`);
  } finally {
    db.exec('PRAGMA legacy_alter_table = OFF');
  }
  for (const index of indexes) db.exec(index);
  return kept;
}

function createStateStore(db: DatabaseSync, file: string, schemaVersion: number, backup: string | undefined, repairs: readonly string[], now: () => Date): StateStore {
  return {
    file,
    schemaVersion,
    backup,
    repairs,
    ...createRemotesRepository(db, now),
    ...createProjectsRepository(db, now),
    ...createContainersRepository(db, now),
    ...createForwardsRepository(db, now),
    ...createImportsRepository(db, now),
    ...createInstancesRepository(db, now),
    transaction: (work) => inTransaction(db, work),
    close() {
      if (db.isOpen) db.close();
    },
  };
}

/** Wraps every method so a locked, corrupt or unwritable database becomes a UserError. */
function guardErrors(store: StateStore, file: string): StateStore {
  const guarded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(store)) {
    guarded[key] = typeof value !== 'function' ? value : (...args: unknown[]) => {
      try {
        return (value as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        throw toStateError(error, file);
      }
    };
  }
  return guarded as unknown as StateStore;
}
