import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeEntries, encodeEntries, entriesId, treeDigest } from '../../../src/core/tree-digest.ts';

describe('treeDigest (what rsync -rlpt compares, as one hash)', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlt-tree-digest-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const entries = ['./', 'a.txt', 'd/', 'd/b.txt', 'link'];
  /** A tree, and a copy as rsync -rlpt --modify-window=-1 leaves it (cp -a keeps nanosecond times). */
  const pair = (name: string) => {
    const local = join(root, name, 'local');
    mkdirSync(join(local, 'd'), { recursive: true });
    writeFileSync(join(local, 'a.txt'), 'a');
    writeFileSync(join(local, 'd', 'b.txt'), 'b');
    symlinkSync('a.txt', join(local, 'link'));
    const copy = join(root, name, 'copy');
    execFileSync('cp', ['-a', local, copy]);
    return { local, copy };
  };

  it('is equal for a tree and its copy with the same times and permissions', async () => {
    const { local, copy } = pair('equal');
    assert.equal(await treeDigest(local, entries), await treeDigest(copy, entries));
    assert.match(await treeDigest(local, entries), /^[0-9a-f]{64}$/);
  });

  it('goes through long lists in steps, letting other work in between', async () => {
    const { local } = pair('long');
    const long = Array.from({ length: 5000 }, (_, i) => (i % 2 ? 'a.txt' : 'd/b.txt'));
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 0);
    await treeDigest(local, long);
    clearInterval(ticker);
    assert.ok(ticks > 0, 'the event loop ran during the digest');
  });

  const changes: Array<[string, (dir: string) => void]> = [
    ['content of the same size (a new time)', (dir) => writeFileSync(join(dir, 'a.txt'), 'A')],
    ['only the time, by a nanosecond-scale step', (dir) => utimesSync(join(dir, 'a.txt'), 1_700_000_000.000001, 1_700_000_000.000001)],
    ['permissions', (dir) => chmodSync(join(dir, 'd', 'b.txt'), 0o600)],
    ['a new entry in a listed folder (its time)', (dir) => writeFileSync(join(dir, 'd', 'new'), '')],
    ['a listed path removed', (dir) => rmSync(join(dir, 'd', 'b.txt'))],
    ['a link\'s target', (dir) => (rmSync(join(dir, 'link')), symlinkSync('d', join(dir, 'link')))],
    ['a file replaced by a folder', (dir) => (rmSync(join(dir, 'a.txt')), mkdirSync(join(dir, 'a.txt')))],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what}`, async () => {
      const { local, copy } = pair(what.replace(/\W+/g, '-'));
      change(copy);
      assert.notEqual(await treeDigest(local, entries), await treeDigest(copy, entries));
    });
  }

  it('lists travel NUL-separated (a name may hold a line break) and are named by their content', () => {
    const list = ['./', 'a\nb', 'c/'];
    assert.deepEqual(decodeEntries(encodeEntries(list)), list);
    assert.deepEqual(decodeEntries(''), []);
    assert.notEqual(entriesId(list), entriesId(['./', 'a', 'b', 'c/']));
  });
});
