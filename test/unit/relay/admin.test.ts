import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createToken, issueHostToken, openRelayStore, redactUrl, revokeToken, sqliteFile } from '../../../src/relay/admin.ts';
import { defaultHostName } from '../../../src/relay/add-host.ts';
import { isUserError } from '../../../src/core/errors.ts';

const now = new Date('2026-01-02T03:04:05Z');

describe('relay administration (SQLite store)', () => {
  it('creates, lists, revokes; one live token per name; migrations run once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlt-relay-admin-'));
    const store = await openRelayStore({ dataDir });
    assert.equal(statSync(sqliteFile(dataDir)).mode & 0o777, 0o600);
    const { token, record } = await createToken(store, { name: 'laptop', scope: 'user' }, now);
    assert.match(token, /^mltr_u_/);
    assert.deepEqual(Object.keys(record).sort(), ['createdAt', 'host', 'id', 'lastUsedAt', 'name', 'revokedAt', 'scope']);
    await assert.rejects(createToken(store, { name: 'laptop', scope: 'user' }, now), (e) => isUserError(e) && e.code === 'RELAY_TOKEN_EXISTS');
    await assert.rejects(createToken(store, { name: 'bad name\n', scope: 'user' }, now), (e) => isUserError(e) && e.code === 'RELAY_TOKEN_NAME_INVALID');
    await assert.rejects(createToken(store, { name: 'a', scope: 'agent', host: '../x' }, now), (e) => isUserError(e) && e.code === 'RELAY_TOKEN_NAME_INVALID');
    assert.deepEqual(await revokeToken(store, 'laptop', now), [record.id]);
    await assert.rejects(revokeToken(store, 'laptop', now), (e) => isUserError(e) && e.code === 'RELAY_TOKEN_NOT_FOUND');
    // The name is free again once revoked.
    await createToken(store, { name: 'laptop', scope: 'user' }, now);
    await store.close();
    const again = await openRelayStore({ dataDir });
    assert.equal((await again.listTokens()).length, 2, 'reopening keeps the data and does not migrate twice');
    await again.close();
  });

  it('add-host keeps one live agent token per host', async () => {
    const store = await openRelayStore({ dataDir: mkdtempSync(join(tmpdir(), 'mlt-relay-admin-')) });
    const first = await issueHostToken(store, 'gpu-box', now);
    const second = await issueHostToken(store, 'gpu-box', now);
    assert.deepEqual(second.replaced, [first.record.id]);
    const live = (await store.listTokens()).filter((t) => t.revokedAt === null);
    assert.deepEqual(live.map((t) => [t.scope, t.host, t.name]), [['agent', 'gpu-box', 'agent@gpu-box']]);
    await store.close();
  });

  it('never prints a database password; a broken database is a user error naming it', async () => {
    assert.equal(redactUrl('postgresql://relay:s3cret@db:5432/relay'), 'postgresql://relay:***@db:5432/relay');
    await assert.rejects(openRelayStore({ databaseUrl: 'postgresql://relay:s3cret@127.0.0.1:1/relay', dataDir: '/nonexistent' }), (e) => {
      assert.ok(isUserError(e) && e.code === 'RELAY_DATABASE_UNAVAILABLE');
      assert.ok(!e.message.includes('s3cret'), e.message);
      return true;
    });
  });

  it('names a host after the target\'s host part', () => {
    assert.equal(defaultHostName('gpu-box'), 'gpu-box');
    assert.equal(defaultHostName('ubuntu@10.0.0.5:2222'), '10.0.0.5');
    assert.equal(defaultHostName('ssh://alice@[fe80::1]:22'), 'fe80--1');
    assert.equal(defaultHostName('alice@lab.example.org'), 'lab.example.org');
  });
});
