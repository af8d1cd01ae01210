import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listingUsable, PUSH_RECORD_MAX_ENTRIES, PushRecords } from '../../../../src/services/sync/push-record.ts';

describe('push records', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'mlt-push-records-')), 'records');
  after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const pair = { localDir: '/p', destination: 'gpu', remoteDir: 'proj' };

  it('keeps one record per folder pair, private, written whole; dropped means gone', () => {
    const records = new PushRecords(dir);
    assert.equal(records.read(pair), undefined);
    records.write(pair, { key: 'k', entries: ['./', 'a'], folders: 'f' });
    assert.deepEqual(records.read(pair), { key: 'k', entries: ['./', 'a'], folders: 'f' });
    assert.equal(records.read({ ...pair, remoteDir: 'other' }), undefined);
    const [file] = readdirSync(dir);
    assert.equal(statSync(join(dir, file!)).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    records.drop(pair);
    assert.equal(records.read(pair), undefined);
  });

  it('a damaged record reads as none', () => {
    const records = new PushRecords(dir);
    records.write(pair, { key: 'k', entries: ['./'], folders: 'f' });
    const [file] = readdirSync(dir);
    writeFileSync(join(dir, file!), '{"key":"k","entries":[1],"folders":"f"}');
    assert.equal(records.read(pair), undefined);
    writeFileSync(join(dir, file!), '{"key":');
    assert.equal(records.read(pair), undefined);
  });

  it('a listing stands for the tree only when every name decoded and it is not too long', () => {
    assert.equal(listingUsable(['./', 'a']), true);
    assert.equal(listingUsable([]), false);
    assert.equal(listingUsable(['./', 'caf\uFFFD']), false);
    assert.equal(listingUsable(Array.from({ length: PUSH_RECORD_MAX_ENTRIES + 1 }, (_, i) => String(i))), false);
  });
});
