import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../../src/core/errors.ts';
import { latestVersion, MIGRATIONS, type Migration } from '../../../src/db/migrations.ts';
import { openStateStore } from '../../../src/db/state-store.ts';
import { fakeClock, tempDbFile } from './helpers.ts';

const V1 = MIGRATIONS.filter((m) => m.version === 1);
const LATEST = latestVersion(MIGRATIONS);

function tables(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

function versions(file: string): number[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare('SELECT version FROM schema_version ORDER BY version').all() as { version: number }[]).map((r) => r.version);
  } finally {
    db.close();
  }
}

const backupsOf = (file: string) => readdirSync(dirname(file)).filter((name) => name.startsWith('state.db.bak-'));

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<UserError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof UserError, `expected a UserError ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

describe('state database migrations', () => {
  it('creates every table from an empty folder, in WAL mode, readable only by the user', async () => {
    const file = tempDbFile();
    const store = await openStateStore({ file });
    assert.equal(store.schemaVersion, LATEST);
    assert.equal(store.backup, undefined);
    store.close();
    assert.deepEqual(tables(file), ['containers', 'instances', 'meta', 'port_forwards', 'project_remotes', 'projects', 'remotes', 'schema_version']);
    assert.deepEqual(versions(file), MIGRATIONS.map((m) => m.version));
    const db = new DatabaseSync(file);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    db.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(backupsOf(file), [], 'a new database needs no backup');
  });

  it('upgrades v1 to the latest version, keeping the data, after a backup of v1', async () => {
    const file = tempDbFile();
    const clock = fakeClock('2025-03-01T12:00:00.123Z');
    const old = await openStateStore({ file, migrations: V1, now: clock.now });
    assert.equal(old.schemaVersion, 1);
    old.upsertRemote({ alias: 'gpu', host: 'gpu-box', user: 'alice', port: 2222 });
    old.upsertProject({ localPath: '/work/demo', name: 'demo' });
    old.close();

    clock.advance(1000);
    const store = await openStateStore({ file, now: clock.now });
    assert.equal(store.schemaVersion, LATEST);
    assert.equal(store.getRemote('gpu')?.port, 2222);
    assert.equal(store.getProjectByPath('/work/demo')?.name, 'demo');
    assert.equal(store.backup, `${file}.bak-v1-20250301T120001123Z`);
    store.close();

    assert.deepEqual(backupsOf(file), ['state.db.bak-v1-20250301T120001123Z']);
    assert.deepEqual(versions(store.backup), [1], 'the backup is the v1 database');
    const backup = new DatabaseSync(store.backup, { readOnly: true });
    assert.deepEqual((backup.prepare('SELECT alias FROM remotes').all() as { alias: string }[]).map((r) => r.alias), ['gpu']);
    backup.close();
    assert.equal(statSync(store.backup).mode & 0o777, 0o600);
  });

  it('an up-to-date database is opened without a backup or a change', async () => {
    const file = tempDbFile();
    (await openStateStore({ file })).close();
    const before = readFileSync(file);
    const store = await openStateStore({ file });
    store.close();
    assert.equal(store.backup, undefined);
    assert.deepEqual(backupsOf(file), []);
    assert.deepEqual(readFileSync(file), before);
  });

  it('a failing migration rolls back: the file is byte-identical and the error names the backup', async () => {
    const file = tempDbFile();
    const old = await openStateStore({ file, migrations: V1 });
    old.upsertRemote({ alias: 'gpu', host: 'gpu-box' });
    old.close();
    const before = readFileSync(file);

    const broken: Migration = {
      version: 2,
      name: 'half done, then fails',
      up(db) {
        db.exec('CREATE TABLE half_done (x); INSERT INTO half_done VALUES (1); DELETE FROM remotes');
        throw new Error('boom');
      },
    };
    const error = await rejectsWith(openStateStore({ file, migrations: [...V1, broken] }), 'STATE_MIGRATION_FAILED');
    assert.match(error.message, /from schema version 1 to 2 failed: boom/);
    const backups = backupsOf(file);
    assert.equal(backups.length, 1);
    assert.match(error.hint, new RegExp(`rolled back.*${backups[0]!.replace(/\./g, '\\.')}`));

    assert.deepEqual(readFileSync(file), before, 'the database file is exactly as it was');
    assert.equal(existsSync(`${file}-wal`), false);
    assert.deepEqual(tables(file), ['project_remotes', 'projects', 'remotes', 'schema_version']);
    const again = await openStateStore({ file, migrations: V1 });
    assert.equal(again.getRemote('gpu')?.host, 'gpu-box');
    again.close();
  });

  it('a database from a newer mltoolbox is refused and left byte-identical', async () => {
    const file = tempDbFile();
    (await openStateStore({ file })).close();
    const db = new DatabaseSync(file);
    db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST + 1, 'from the future', 'x');
    db.close();
    const before = readFileSync(file);

    const error = await rejectsWith(openStateStore({ file }), 'STATE_DB_TOO_NEW');
    assert.match(error.message, new RegExp(`schema version ${LATEST + 1}.*up to version ${LATEST}`));
    assert.match(error.hint, /upgrade mltoolbox/);
    assert.equal(error.exitCode, 1);
    assert.deepEqual(readFileSync(file), before);
    assert.deepEqual(backupsOf(file), []);
  });

  it('a database in rollback-journal mode from a newer build is not switched to WAL', async () => {
    const file = tempDbFile();
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT); INSERT INTO schema_version VALUES (99, 'x', 'y')`);
    db.close();
    const before = readFileSync(file);
    await rejectsWith(openStateStore({ file }), 'STATE_DB_TOO_NEW');
    assert.deepEqual(readFileSync(file), before);
  });

  it('a corrupt file is reported with the newest backup, and never deleted', async () => {
    const file = tempDbFile();
    (await openStateStore({ file, migrations: V1 })).close();
    (await openStateStore({ file, now: () => new Date('2025-01-01T00:00:00Z') })).close(); // makes a v1 backup
    const garbage = Buffer.from('this is not a database, '.repeat(300));
    writeFileSync(file, garbage);

    const error = await rejectsWith(openStateStore({ file }), 'STATE_DB_CORRUPT');
    const backup = `${file}.bak-v1-20250101T000000000Z`;
    assert.equal(error.data?.backup, backup);
    assert.ok(error.hint.includes(backup), error.hint);
    assert.deepEqual(readFileSync(file), garbage, 'the broken file is kept for the user to inspect');
  });

  it('a corrupt file with no backup says how to start fresh safely', async () => {
    const file = tempDbFile();
    (await openStateStore({ file })).close();
    writeFileSync(file, Buffer.alloc(8192, 7));
    const error = await rejectsWith(openStateStore({ file }), 'STATE_DB_CORRUPT');
    assert.match(error.hint, /no backup exists; move the broken file aside/);
    assert.equal(error.data?.backup, null);
    assert.ok(existsSync(file));
  });

  it('an unwritable location is a clear error', async () => {
    const file = tempDbFile();
    writeFileSync(dirname(file) + '/not-a-dir', '');
    await rejectsWith(openStateStore({ file: `${dirname(file)}/not-a-dir/state.db` }), 'STATE_DB_UNAVAILABLE');
  });
});
