import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProgressLine, parseRate, parseRsyncOutput, RsyncOutputParser, unescapeName } from '../../../../src/services/sync/rsync-output.ts';
import type { SyncProgress } from '../../../../src/services/sync/types.ts';
import { loadFixture } from './fixtures.ts';

describe('rsync output parsing (recorded runs)', () => {
  it('a first push: every file added, names with spaces, UTF-8 and escaped line breaks intact', () => {
    const { stdout } = loadFixture('push-first');
    const { changes, stats } = parseRsyncOutput(stdout);
    assert.deepEqual(changes.added, ['.gitignore', 'line\nbreak.txt', 'notes with spaces.md', 'train.py', 'ünïcode.txt', 'src/', 'src/data.py', 'src/model.py']);
    assert.deepEqual(changes.changed, []);
    assert.deepEqual(changes.deleted, []);
    assert.equal(stats.filesTransferred, 7);
    assert.equal(stats.bytes, 300051);
    assert.ok(stats.bytesSent > 0);
  });

  it('a second push after one edit: exactly one changed file', () => {
    const { changes, stats } = parseRsyncOutput(loadFixture('push-one-changed').stdout);
    assert.deepEqual(changes, { added: [], changed: ['train.py'], deleted: [] });
    assert.equal(stats.filesTransferred, 1);
    assert.equal(stats.bytes, 22);
  });

  it('a dry run: added, changed and deleted, folder timestamp noise dropped', () => {
    const { changes, stats } = parseRsyncOutput(loadFixture('push-dry-run').stdout);
    assert.deepEqual(changes, { added: ['src/new.py'], changed: ['src/model.py'], deleted: ['stale.py'] });
    assert.equal(stats.deleted, 1);
  });

  it('a fetch lists what came back', () => {
    const { changes, stats } = parseRsyncOutput(loadFixture('fetch-outputs').stdout);
    assert.deepEqual(changes.added, ['outputs/', 'outputs/metrics.json', 'outputs/run1.txt']);
    assert.equal(stats.filesTransferred, 2);
  });

  it('progress lines become progress events, repeated final lines once', () => {
    const events: SyncProgress[] = [];
    parseRsyncOutput(loadFixture('push-first').stdout, (p) => events.push(p));
    assert.ok(events.length >= 5);
    const last = events.at(-1)!;
    assert.equal(last.bytes, 300051);
    assert.equal(last.percent, 100);
    assert.equal(last.files, 7);
    assert.equal(last.filesToCheck, 0);
    assert.equal(last.filesTotal, 9);
    const unique = new Set(events.map((e) => JSON.stringify(e)));
    assert.ok(unique.size >= events.length - 1, 'consecutive duplicates are dropped');
  });

  it('parses chunks split anywhere, as a stream delivers them', () => {
    const { stdout } = loadFixture('push-dry-run');
    const whole = parseRsyncOutput(stdout);
    const parser = new RsyncOutputParser();
    for (let i = 0; i < stdout.length; i += 7) parser.push(stdout.slice(i, i + 7));
    assert.deepEqual(parser.finish(), whole);
  });

  it('ignores stray lines (shell noise, "created directory")', () => {
    const { changes } = parseRsyncOutput('Welcome!\ncreated directory x\nMLT-ITEM <f+++++++++ a b\n');
    assert.deepEqual(changes.added, ['a b']);
  });

  it('keeps leading spaces of names', () => {
    const { changes } = parseRsyncOutput('MLT-ITEM <f+++++++++  lead\nMLT-ITEM *deleting    gone\n');
    assert.deepEqual(changes.added, [' lead']);
    assert.deepEqual(changes.deleted, [' gone']);
  });
});

describe('progress and rate', () => {
  it('parses a progress2 line', () => {
    assert.deepEqual(parseProgressLine('     1,234,567  45%   10.23MB/s    0:00:01 (xfr#3, to-chk=10/20)'), {
      bytes: 1234567, percent: 45, rate: '10.23MB/s', bytesPerSecond: Math.round(10.23 * 1024 * 1024), time: '0:00:01', files: 3, filesToCheck: 10, filesTotal: 20,
    });
    assert.equal(parseProgressLine('             12   0%    0.00kB/s    0:00:00  ')?.files, 0);
    assert.equal(parseProgressLine('   5 10% 1.00kB/s 0:00:01 (xfr#1, ir-chk=1000/1200)')?.filesTotal, 1200);
    assert.equal(parseProgressLine('Number of files: 9'), undefined);
  });
  it('parses rates', () => {
    assert.equal(parseRate('1.00kB/s'), 1024);
    assert.equal(parseRate('2.50GB/s'), Math.round(2.5 * 1024 ** 3));
    assert.equal(parseRate('12.00B/s'), 12);
    assert.equal(parseRate('??'), 0);
  });
  it('unescapes \\#ooo', () => {
    assert.equal(unescapeName('a\\#012b\\#011c'), 'a\nb\tc');
  });
});

describe('the listing a push record keeps (-ii)', () => {
  const lines = ['MLT-ITEM .d          ./', 'MLT-ITEM <f+++++++++ new.txt', 'MLT-ITEM .f          same.txt', 'MLT-ITEM *deleting   old.txt', 'MLT-ITEM .d..t...... sub/', 'MLT-ITEM .f          sub/with\\#012break'];

  it('collects every path rsync kept, changed or not, and no deletion; changes still only list what changed', () => {
    const parser = new RsyncOutputParser(undefined, 100);
    parser.push(`${lines.join('\n')}\n`);
    const { listing, changes } = parser.finish();
    assert.deepEqual(listing, ['./', 'new.txt', 'same.txt', 'sub/', 'sub/with\nbreak']);
    assert.deepEqual(changes, { added: ['new.txt'], changed: [], deleted: ['old.txt'] });
  });

  it('gives no listing past its bound, or when not asked', () => {
    const bounded = new RsyncOutputParser(undefined, 3);
    bounded.push(`${lines.join('\n')}\n`);
    assert.equal(bounded.finish().listing, undefined);
    assert.equal(parseRsyncOutput(lines.join('\n')).listing, undefined);
  });
});
