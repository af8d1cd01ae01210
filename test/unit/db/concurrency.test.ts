import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openStateStore } from '../../../src/db/index.ts';
import { UserError } from '../../../src/core/errors.ts';
import { tempDbFile } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url));

interface Child {
  done: Promise<{ code: number | null; stderr: string }>;
  /** Resolves when the child prints `line` on stdout. */
  printed(line: string): Promise<void>;
}

function start(args: string[]): Child {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) if (stdout.split('\n').includes(waiter.line)) waiter.resolve();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))),
    printed: (line) => new Promise((resolve) => waiters.push({ line, resolve })),
  };
}

describe('several mltoolbox processes on one database', () => {
  it('two processes creating, migrating and writing the same new database at once both succeed', async () => {
    const file = tempDbFile();
    const children = [start(['write', file, 'a', '60']), start(['write', file, 'b', '60'])];
    const results = await Promise.all(children.map((c) => c.done));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const store = await openStateStore({ file });
    const aliases = store.listRemotes().map((r) => r.alias);
    store.close();
    assert.equal(aliases.length, 120);
    assert.equal(aliases.filter((a) => a.startsWith('a-')).length, 60);
  });

  it('a writer waits for another process\'s transaction (busy timeout) instead of failing', async () => {
    const file = tempDbFile();
    (await openStateStore({ file })).close();
    const holder = start(['hold', file, '1500']);
    await holder.printed('locked');
    const store = await openStateStore({ file });
    const startedAt = Date.now();
    store.upsertRemote({ alias: 'waited', host: 'h' });
    const waited = Date.now() - startedAt;
    store.close();
    assert.equal((await holder.done).code, 0);
    assert.ok(waited >= 500, `the write should have waited for the lock (waited ${waited} ms)`);
  });

  it('a lock held past the 5 s busy timeout becomes STATE_DB_BUSY', { timeout: 30_000 }, async () => {
    const file = tempDbFile();
    (await openStateStore({ file })).close();
    const holder = start(['hold', file, '8000']);
    await holder.printed('locked');
    const store = await openStateStore({ file });
    try {
      assert.throws(() => store.upsertRemote({ alias: 'late', host: 'h' }), (e: unknown) => e instanceof UserError && e.code === 'STATE_DB_BUSY');
      assert.equal(store.getRemote('holder'), undefined, 'readers still see the last committed state meanwhile');
    } finally {
      store.close();
    }
    assert.equal((await holder.done).code, 0);
  });
});
