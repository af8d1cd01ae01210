import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSqliteExperimentalWarning, loadSqlite, sqliteErrorCode, withoutSqliteWarning } from '../../../src/db/sqlite.ts';

describe('node:sqlite loading', () => {
  it('recognises only the SQLite experimental warning', () => {
    assert.equal(isSqliteExperimentalWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning'), true);
    assert.equal(isSqliteExperimentalWarning('SQLite is an experimental feature', { type: 'ExperimentalWarning' }), true);
    const error = Object.assign(new Error('SQLite is an experimental feature'), { name: 'ExperimentalWarning' });
    assert.equal(isSqliteExperimentalWarning(error, undefined), true);
    assert.equal(isSqliteExperimentalWarning('WASI is an experimental feature', 'ExperimentalWarning'), false);
    assert.equal(isSqliteExperimentalWarning('SQLite is slow', 'DeprecationWarning'), false);
  });

  it('drops the SQLite warning while loading, lets every other warning through, and restores emitWarning', async () => {
    const original = process.emitWarning;
    const seen: unknown[][] = [];
    const recorder = ((...args: unknown[]) => void seen.push(args)) as typeof process.emitWarning;
    process.emitWarning = recorder;
    try {
      const value = await withoutSqliteWarning(async () => {
        process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('something else is odd', 'ExperimentalWarning');
        process.emitWarning('old API', { type: 'DeprecationWarning', code: 'DEP_X' });
        return 42;
      });
      assert.equal(value, 42);
      assert.deepEqual(seen, [['something else is odd', 'ExperimentalWarning'], ['old API', { type: 'DeprecationWarning', code: 'DEP_X' }]]);
      assert.equal(process.emitWarning, recorder, 'the previous emitWarning is back');
    } finally {
      process.emitWarning = original;
    }
  });

  it('restores emitWarning when loading fails', async () => {
    const original = process.emitWarning;
    await assert.rejects(withoutSqliteWarning(async () => { throw new Error('no sqlite'); }), /no sqlite/);
    assert.equal(process.emitWarning, original);
  });

  it('loads the real module', async () => {
    const { DatabaseSync } = await loadSqlite();
    const db = new DatabaseSync(':memory:');
    assert.deepEqual({ ...db.prepare('SELECT 1 AS one').get() }, { one: 1 });
    db.close();
  });

  it('reads the primary result code from extended ones', () => {
    assert.equal(sqliteErrorCode({ errcode: 2067 }), 19);
    assert.equal(sqliteErrorCode({ errcode: 26 }), 26);
    assert.equal(sqliteErrorCode(new Error('x')), undefined);
  });
});
