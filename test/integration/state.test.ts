import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { createSandbox, runMltoolbox, type Sandbox } from '../harness/index.ts';

/** The state database needs no host: these run the built binary in a sandbox only. */
const mlt = (sandbox: Sandbox, args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir });
const dbFile = (sandbox: Sandbox) => join(sandbox.env.XDG_DATA_HOME!, 'mltoolbox', 'state.db');

function json(stdout: string) {
  return JSON.parse(stdout) as { ok: boolean; command: string; result: any; error: { code: string; message: string; hint: string; data?: any } | null };
}

describe('state database and remote commands', () => {
  it('remote add / list / remove, in text and --json', async () => {
    const sandbox = await createSandbox();
    const empty = await mlt(sandbox, ['remote', 'list']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /no remotes saved yet/);
    assert.doesNotMatch(empty.stderr, /ExperimentalWarning/);
    assert.ok(existsSync(dbFile(sandbox)), 'the database lives under $XDG_DATA_HOME/mltoolbox');

    const added = await mlt(sandbox, ['remote', 'add', 'gpu', 'alice@gpu-box:2222', '--identity-file', '~/.ssh/id_gpu', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const addedJson = json(added.stdout);
    assert.equal(addedJson.ok, true);
    assert.equal(addedJson.command, 'remote add');
    assert.equal(addedJson.result.action, 'added');
    assert.deepEqual({ ...addedJson.result.remote, createdAt: typeof addedJson.result.remote.createdAt }, {
      alias: 'gpu', host: 'gpu-box', user: 'alice', port: 2222, identityFile: join(sandbox.home, '.ssh/id_gpu'), createdAt: 'string', lastUsedAt: null,
    });
    assert.match(addedJson.result.warnings[0], /does not exist/);

    const lab = await mlt(sandbox, ['remote', 'add', 'lab', '10.0.0.5', '--port', '2200']);
    assert.equal(lab.code, 0, lab.stderr);
    assert.match(lab.stderr, /added remote lab -> 10\.0\.0\.5:2200/);
    const updated = await mlt(sandbox, ['remote', 'add', 'lab', 'bob@10.0.0.6']);
    assert.match(updated.stderr, /updated remote lab -> bob@10\.0\.0\.6/);

    const table = await mlt(sandbox, ['remote', 'list']);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(table.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/)), [
      ['ALIAS', 'TARGET', 'IDENTITY', 'LAST USED'],
      ['gpu', 'alice@gpu-box:2222', '~/.ssh/id_gpu', 'never'],
      ['lab', 'bob@10.0.0.6', '-', 'never'],
    ]);

    const listed = json((await mlt(sandbox, ['remote', 'list', '--json'])).stdout);
    assert.deepEqual(listed.result.remotes.map((r: { alias: string; port: number | null }) => [r.alias, r.port]), [['gpu', 2222], ['lab', null]]);

    const removed = await mlt(sandbox, ['remote', 'remove', 'gpu', '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(json(removed.stdout).result.removed.alias, 'gpu');
    assert.deepEqual(json((await mlt(sandbox, ['remote', 'list', '--json'])).stdout).result.remotes.map((r: { alias: string }) => r.alias), ['lab']);
  });

  it('remove of an unknown alias fails with a suggestion; bad input is a usage error', async () => {
    const sandbox = await createSandbox();
    await mlt(sandbox, ['remote', 'add', 'gpu-box', 'h']);
    const unknown = await mlt(sandbox, ['remote', 'remove', 'gpu-bx']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no saved remote named 'gpu-bx' \[REMOTE_NOT_FOUND\]/);
    assert.match(unknown.stderr, /hint: did you mean 'gpu-box'\?/);
    const unknownJson = json((await mlt(sandbox, ['remote', 'remove', 'gpu-bx', '--json'])).stdout);
    assert.equal(unknownJson.ok, false);
    assert.equal(unknownJson.error?.code, 'REMOTE_NOT_FOUND');

    const badAlias = await mlt(sandbox, ['remote', 'add', 'my/gpu', 'h']);
    assert.equal(badAlias.code, 2);
    assert.match(badAlias.stderr, /REMOTE_ALIAS_INVALID/);
    const badTarget = await mlt(sandbox, ['remote', 'add', 'x', 'alice@gpu box']);
    assert.equal(badTarget.code, 2);
    assert.match(badTarget.stderr, /REMOTE_TARGET_INVALID/);
  });

  it('remote add refuses a target exactly as connect and doctor do (one parser)', async () => {
    const sandbox = await createSandbox();
    const results = await Promise.all([
      mlt(sandbox, ['remote', 'add', 'hx', 'a@b@relhost', '--json']),
      mlt(sandbox, ['connect', 'a@b@relhost', '--no-attach', '--json']),
      mlt(sandbox, ['doctor', 'a@b@relhost', '--json']),
    ]);
    for (const result of results) {
      assert.equal(result.code, 2, result.stderr);
      const error = json(result.stdout).error!;
      assert.equal(error.code, 'REMOTE_TARGET_INVALID');
      assert.equal(error.message, "invalid host 'a@b@relhost': 'a@b' is not a valid user name");
      assert.match(error.hint, /\[user@\]host\[:port\]/);
    }
    assert.deepEqual(json((await mlt(sandbox, ['remote', 'list', '--json'])).stdout).result.remotes, [], 'nothing was saved');
  });

  it('two concurrent `remote add` processes on a new database both succeed', async () => {
    const sandbox = await createSandbox();
    const [a, b] = await Promise.all([mlt(sandbox, ['remote', 'add', 'one', 'host-1']), mlt(sandbox, ['remote', 'add', 'two', 'host-2'])]);
    assert.equal(a!.code, 0, a!.stderr);
    assert.equal(b!.code, 0, b!.stderr);
    const listed = json((await mlt(sandbox, ['remote', 'list', '--json'])).stdout);
    assert.deepEqual(listed.result.remotes.map((r: { alias: string }) => r.alias), ['one', 'two']);
  });

  it('a database from a newer mltoolbox gives the upgrade error and is left byte-identical', async () => {
    const sandbox = await createSandbox();
    assert.equal((await mlt(sandbox, ['remote', 'add', 'gpu', 'h'])).code, 0);
    const db = new DatabaseSync(dbFile(sandbox));
    db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'from the future', new Date().toISOString());
    db.close();
    const before = readFileSync(dbFile(sandbox));

    const result = await mlt(sandbox, ['remote', 'list']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /schema version 999.*\[STATE_DB_TOO_NEW\]/);
    assert.match(result.stderr, /hint: .*upgrade mltoolbox/);
    const asJson = json((await mlt(sandbox, ['remote', 'add', 'x', 'h', '--json'])).stdout);
    assert.equal(asJson.error?.code, 'STATE_DB_TOO_NEW');
    assert.deepEqual(readFileSync(dbFile(sandbox)), before);
  });

  it('MLTOOLBOX_DATA_DIR moves the database', async () => {
    const sandbox = await createSandbox();
    const dataDir = sandbox.path('elsewhere');
    const result = await runMltoolbox(['remote', 'add', 'gpu', 'h'], { env: { ...sandbox.env, MLTOOLBOX_DATA_DIR: dataDir }, cwd: sandbox.projectDir });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(dataDir, 'state.db')));
    assert.equal(existsSync(dbFile(sandbox)), false);
  });

  it('a table that lost a column by hand is detected, the file copied aside, the table rebuilt with its rows, and the user told', async () => {
    const sandbox = await createSandbox();
    assert.equal((await mlt(sandbox, ['remote', 'add', 'gpu', 'alice@gpu-box:2222'])).code, 0);
    const raw = new DatabaseSync(dbFile(sandbox));
    raw.exec('ALTER TABLE remotes DROP COLUMN user');
    raw.close();

    const listed = await mlt(sandbox, ['remote', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /lost the column user of its remotes table .*keeping its entries .*copied to .*state\.db\.bak-/s);
    const [remote] = json(listed.stdout).result.remotes;
    assert.deepEqual({ alias: remote.alias, host: remote.host, user: remote.user, port: remote.port }, { alias: 'gpu', host: 'gpu-box', user: null, port: 2222 });
    const backup = readdirSync(dirname(dbFile(sandbox))).find((name) => name.startsWith('state.db.bak-'));
    assert.ok(backup, 'the damaged file was copied aside');
    const copy = new DatabaseSync(join(dirname(dbFile(sandbox)), backup));
    assert.equal((copy.prepare('SELECT host FROM remotes').get() as { host: string }).host, 'gpu-box', 'the copy holds the damaged table as it was');
    copy.close();

    const again = await mlt(sandbox, ['remote', 'add', 'lab', 'bob@lab-box', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /lost/, 'repaired once, quiet after');
    assert.equal(json(again.stdout).result.remote.user, 'bob', 'the rebuilt column works');
  });
});
