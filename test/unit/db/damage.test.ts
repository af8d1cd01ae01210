import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { UserError } from '../../../src/core/errors.ts';
import { openStateStore } from '../../../src/db/state-store.ts';
import { tempDbFile } from './helpers.ts';

/** Abuse suite: a damaged state database is detected, kept, explained; never a stack, never silently forgotten. */
describe('damaged state database', () => {
  it('a dropped table is recreated after the file is copied aside; the other tables keep their rows', async () => {
    const file = tempDbFile();
    const first = await openStateStore({ file });
    first.upsertRemote({ alias: 'gpu', host: 'gpu.example', user: null, port: null, identityFile: null });
    first.close();
    const raw = new DatabaseSync(file);
    raw.exec('PRAGMA foreign_keys = OFF; DROP TABLE remotes;');
    raw.close();
    const store = await openStateStore({ file });
    try {
      assert.equal(store.repairs.length, 1);
      assert.match(store.repairs[0]!, /lost its remotes table .*copied to .*state\.db\.bak-/);
      assert.deepEqual(store.listRemotes(), [], 'the table works again (its rows are gone)');
      store.upsertRemote({ alias: 'again', host: 'h', user: null, port: null, identityFile: null });
      assert.equal(store.listRemotes().length, 1);
    } finally {
      store.close();
    }
    assert.ok(readdirSync(dirname(file)).some((n) => n.startsWith('state.db.bak-')), 'the damaged copy was kept');
    const reopened = await openStateStore({ file });
    assert.deepEqual(reopened.repairs, [], 'repaired once, quiet after');
    reopened.close();
  });

  it('a lost NOT NULL column: the table is rebuilt empty (its rows are in the copy), and the other tables keep theirs', async () => {
    const file = tempDbFile();
    const first = await openStateStore({ file });
    first.upsertRemote({ alias: 'gpu', host: 'gpu.example', user: 'me', port: null, identityFile: null });
    first.close();
    const raw = new DatabaseSync(file);
    raw.exec('ALTER TABLE remotes DROP COLUMN host');
    raw.close();
    const store = await openStateStore({ file });
    try {
      assert.equal(store.repairs.length, 1);
      assert.match(store.repairs[0]!, /lost the column host of its remotes table .*could not be kept .*copied to /);
      assert.deepEqual(store.listRemotes(), []);
      store.upsertRemote({ alias: 'again', host: 'h', user: null, port: null, identityFile: null });
      assert.equal(store.listRemotes()[0]!.host, 'h');
    } finally {
      store.close();
    }
  });

  it('the whole-schema check is recorded against SQLite\'s schema cookie: skipped while it holds, redone after any DDL', async () => {
    const file = tempDbFile();
    const store = await openStateStore({ file });
    store.close();
    const raw = new DatabaseSync(file);
    const marker = () => (raw.prepare(`SELECT value FROM meta WHERE key = 'schema_checked'`).get() as { value: string } | undefined)?.value;
    const cookie = () => (raw.prepare('PRAGMA schema_version').get() as { schema_version: number }).schema_version;
    assert.equal(marker(), `${store.schemaVersion}:${cookie()}`);
    raw.exec('CREATE TABLE scratch (x INTEGER); DROP TABLE scratch;'); // the cookie moves; nothing the schema needs is lost
    assert.notEqual(marker(), `${store.schemaVersion}:${cookie()}`);
    const again = await openStateStore({ file });
    again.close();
    assert.deepEqual(again.repairs, []);
    assert.equal(marker(), `${store.schemaVersion}:${cookie()}`, 'checked again and recorded at the new cookie');
    raw.close();
  });

  it('an empty (0-byte) file is STATE_DB_CORRUPT, left in place, not used as a fresh database', async () => {
    const file = tempDbFile();
    (await openStateStore({ file })).close();
    writeFileSync(file, '');
    await assert.rejects(openStateStore({ file }), (e: unknown) => e instanceof UserError && e.code === 'STATE_DB_CORRUPT' && /empty \(0 bytes\)/.test(e.message) && /mv /.test(e.hint));
    assert.equal(readdirSync(dirname(file)).filter((n) => n === 'state.db').length, 1);
  });

  it('a new database never exists half-made: no temp files left, parallel first opens agree', async () => {
    const file = tempDbFile();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStateStore({ file })));
    for (const store of stores) store.close();
    assert.deepEqual(readdirSync(dirname(file)).filter((n) => n.includes('.new-')), []);
  });
});
