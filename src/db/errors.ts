import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeError, isUserError, UserError } from '../core/errors.ts';
import { SqliteCode, sqliteErrorCode } from './sqlite.ts';

/** How long a command waits for another mltoolbox process to release the database. */
export const BUSY_TIMEOUT_MS = 5000;

/** The newest `state.db.bak-v<N>-<time>` next to the database, if any. */
export function newestBackup(file: string): string | undefined {
  const prefix = `${basename(file)}.bak-`;
  let names: string[];
  try {
    names = readdirSync(dirname(file)).filter((name) => name.startsWith(prefix));
  } catch {
    return undefined;
  }
  const stamp = (name: string) => name.slice(prefix.length).replace(/^v\d+-/, '');
  const newest = names.sort((a, b) => stamp(a).localeCompare(stamp(b))).at(-1);
  return newest === undefined ? undefined : join(dirname(file), newest);
}

export function tooNewError(file: string, found: number, supported: number): UserError {
  return new UserError(
    'STATE_DB_TOO_NEW',
    `the state database ${file} has schema version ${found}, but this mltoolbox only knows up to version ${supported}`,
    'a newer mltoolbox wrote it: upgrade mltoolbox (npm install -g mltoolbox@latest). The database was left untouched',
    { data: { file, schemaVersion: found, supportedVersion: supported } },
  );
}

export function corruptError(file: string, cause: unknown): UserError {
  const backup = newestBackup(file);
  const hint = backup
    ? `move the broken file aside and restore the newest backup: mv ${file} ${file}.broken && cp ${backup} ${file} (see docs/state.md)`
    : `no backup exists; move the broken file aside to start with an empty state: mv ${file} ${file}.broken (saved remotes are then forgotten; see docs/state.md)`;
  return new UserError('STATE_DB_CORRUPT', `the state database ${file} cannot be read: ${describeError(cause)}`, hint, {
    cause,
    data: { file, backup: backup ?? null },
  });
}

export function migrationFailedError(file: string, from: number, to: number, backup: string | undefined, cause: unknown): UserError {
  const kept = backup ? `; a copy from before the upgrade is at ${backup}` : '';
  return new UserError(
    'STATE_MIGRATION_FAILED',
    `upgrading the state database ${file} from schema version ${from} to ${to} failed: ${describeError(cause)}`,
    `the upgrade was rolled back and the database is unchanged${kept}. Please report this with the output of 'mltoolbox --version'`,
    { cause, data: { file, from, to, backup: backup ?? null } },
  );
}

/**
 * Turns what SQLite and the file system throw into errors the user can act
 * on. Anything else (a constraint we did not expect, a typo in SQL) is a bug
 * and is rethrown as is, so it prints a stack.
 */
export function toStateError(error: unknown, file: string): unknown {
  if (isUserError(error)) return error;
  switch (sqliteErrorCode(error)) {
    case SqliteCode.CORRUPT:
    case SqliteCode.NOTADB:
      return corruptError(file, error);
    case SqliteCode.BUSY:
    case SqliteCode.LOCKED:
      return new UserError(
        'STATE_DB_BUSY',
        `the state database ${file} stayed locked by another mltoolbox process for more than ${BUSY_TIMEOUT_MS / 1000} s`,
        'run the command again; if it keeps happening, look for a hung mltoolbox process (ps -ef | grep mltoolbox)',
        { cause: error, data: { file } },
      );
    case SqliteCode.CANTOPEN:
    case SqliteCode.READONLY:
    case SqliteCode.IOERR:
    case SqliteCode.FULL:
      return unavailableError(file, error);
    default:
      return fileSystemCode(error) ? unavailableError(file, error) : error;
  }
}

export function unavailableError(file: string, cause: unknown): UserError {
  return new UserError(
    'STATE_DB_UNAVAILABLE',
    `cannot open the state database ${file}: ${describeError(cause)}`,
    `make sure ${dirname(file)} is writable and the disk is not full, or set MLTOOLBOX_DATA_DIR to another folder`,
    { cause, data: { file } },
  );
}

function fileSystemCode(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
