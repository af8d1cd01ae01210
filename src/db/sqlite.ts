import type { DatabaseSync } from 'node:sqlite';

export type { DatabaseSync, StatementSync } from 'node:sqlite';
export type SqliteModule = typeof import('node:sqlite');

type EmitWarning = typeof process.emitWarning;

/**
 * Some Node versions (22.x) print "ExperimentalWarning: SQLite is an
 * experimental feature" when node:sqlite first loads. Users cannot act on
 * it, so it is dropped — only that warning, only while this import runs;
 * every other warning still reaches process.emitWarning.
 */
export function loadSqlite(): Promise<SqliteModule> {
  return withoutSqliteWarning(() => import('node:sqlite'));
}

export async function withoutSqliteWarning<T>(load: () => Promise<T>): Promise<T> {
  const original: EmitWarning = process.emitWarning;
  const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (isSqliteExperimentalWarning(warning, rest[0])) return;
    return (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered as EmitWarning;
  try {
    return await load();
  } finally {
    // Put back only our own filter: someone may have wrapped emitWarning meanwhile.
    if (process.emitWarning === (filtered as EmitWarning)) process.emitWarning = original;
  }
}

/** `emitWarning(message, type)` or `emitWarning(message, { type })`, naming SQLite. */
export function isSqliteExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type = typeof typeOrOptions === 'string'
    ? typeOrOptions
    : typeof typeOrOptions === 'object' && typeOrOptions !== null && 'type' in typeOrOptions ? String(typeOrOptions.type) : undefined;
  const name = warning instanceof Error ? warning.name : type;
  const message = warning instanceof Error ? warning.message : warning;
  return name === 'ExperimentalWarning' && /^SQLite\b/.test(message);
}

/** SQLite's primary result code (node:sqlite reports extended codes, e.g. 2067 for a UNIQUE violation). */
export function sqliteErrorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined;
  const code = (error as { errcode: unknown }).errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

export const SqliteCode = {
  ERROR: 1,
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  CONSTRAINT: 19,
  NOTADB: 26,
} as const;

/**
 * Runs `work` in a write transaction. BEGIN IMMEDIATE takes the write lock up
 * front, so a second process waits (busy timeout) instead of failing later
 * with SQLITE_BUSY on a read-to-write upgrade. Nested calls use a savepoint.
 */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  if (db.isTransaction) {
    db.exec('SAVEPOINT nested');
    try {
      const result = work();
      db.exec('RELEASE nested');
      return result;
    } catch (error) {
      db.exec('ROLLBACK TO nested');
      db.exec('RELEASE nested');
      throw error;
    }
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
