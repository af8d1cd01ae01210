import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUSY_TIMEOUT_MS, toStateError, tooNewError } from './errors.ts';
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
  const existed = prepareFile(file);
  const { DatabaseSync } = await loadSqlite();
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
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA synchronous = NORMAL');
    return guardErrors(createStateStore(db, file, latest, backup, now), file);
  } catch (error) {
    if (db.isOpen) db.close();
    throw toStateError(error, file);
  }
}

/** Makes the folder (0700) and an empty file (0600, so the WAL files get 0600 too). Returns whether it had content. */
function prepareFile(file: string): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const size = statSync(file, { throwIfNoEntry: false })?.size;
    if (size === undefined) closeSync(openSync(file, 'a', 0o600));
    return (size ?? 0) > 0;
  } catch (error) {
    throw toStateError(error, file);
  }
}

function createStateStore(db: DatabaseSync, file: string, schemaVersion: number, backup: string | undefined, now: () => Date): StateStore {
  return {
    file,
    schemaVersion,
    backup,
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
