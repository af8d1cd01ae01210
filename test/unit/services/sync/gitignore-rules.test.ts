import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { buildFilterRules, resolveRules, toRsyncFilter, type FilterRule } from '../../../../src/services/sync/filters.ts';
import { expandGitignores, mergeFilePatterns, translateGitignoreLine } from '../../../../src/services/sync/gitignore-rules.ts';
import { inArgvOrFile } from '../../../../src/services/sync/rsync-sync-manager.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-gitignore-'));
after(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string>, into?: string): string {
  const dir = into ?? mkdtempSync(join(root, 'tree-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** A real local rsync: what it would send (sorted), and what it would delete. */
function rsync(filters: readonly FilterRule[], source: string, target: string, deleteMode: string): { sent: string[]; deleted: string[] } {
  const args = ['-rn', '--out-format=%i %n', deleteMode, ...filters.map((f) => `--filter=${toRsyncFilter(f)}`), `${source}/`, `${target}/`];
  const result = spawnSync('rsync', args, { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  const sent = lines.filter((line) => !line.startsWith('*deleting') && !line.endsWith(' ./')).map((line) => line.slice(line.indexOf(' ') + 1));
  const deleted = lines.filter((line) => line.startsWith('*deleting')).map((line) => line.replace(/^\*deleting\s+/, ''));
  return { sent: sent.sort(), deleted: deleted.sort() };
}

// Nested .gitignore files with every kind of pattern rsync's dir-merge treats differently.
const gitignores = {
  '.gitignore': [
    '*.log', '/root-only.txt', 'build/', '**/gen-*.py', 'docs/**/*.tmp', 'cache/**', '# a comment', ';also a comment', '!keep.log',
    '[Tt]emp?.txt', '  lead.txt', 'trail.txt ', 'nested/anchor/x.txt', '**/top-star', 'onlydir/', 'x\\[1\\].txt',
  ].join('\n'),
  'build/.gitignore': '*\n', // inside an ignored folder: never read
  'data/.gitignore': '*.raw\n', // data/ is ignored but overridden back in: read
  'src/.gitignore': [
    '/generated/', 'cache*', 'deep/inner.txt', 'src/self.txt', 'a/**/b.txt', '**/star-prefix.txt', 'subx/***', '[a-c]x.bin', '*.o/', 'lib/**', '/lit.txt',
  ].join('\r\n'),
  'src/lib/.gitignore': '*.md\n/local-only.bin\nlib/x/*.dat\nsrc/**/zz\n**\n',
  'src/keep/.gitignore': '\n\n/only-here.txt\nsub/deeper/\n',
  'src/keep/sub/.gitignore': '*.bak\n!important.bak\n',
  'odd [dir]/.gitignore': 'b.txt\nq/r.txt\n',
};

const files = [
  'train.py', 'train.log', 'keep.log', '!keep.log', 'root-only.txt', 'sub/root-only.txt', 'build/out.o', 'build/keep.txt', 'gen-a.py', 'src/gen-b.py',
  'docs/x.tmp', 'docs/a/b/y.tmp', 'docs/z.md', 'cache/c1', 'Temp1.txt', 'temp22.txt', 'tempA.txt', '  lead.txt', 'lead.txt', 'trail.txt ', 'trail.txt',
  'nested/anchor/x.txt', 'other/nested/anchor/x.txt', 'nested/anchor/y.txt', 'top-star', 'q/top-star', 'onlydir/f', 'a/onlydir', 'x[1].txt', 'x1.txt',
  'data/a.raw', 'data/b.csv', 'data/sub/c.raw',
  'src/generated/g.py', 'src/a/generated/g.py', 'src/cache1', 'src/x/cache2/f', 'src/ok.py', 'src/deep/inner.txt', 'src/p/deep/inner.txt', 'deep/inner.txt',
  'src/self.txt', 'src/q/src/self.txt', 'src/a/b.txt', 'src/a/x/y/b.txt', 'src/z/a/b.txt', 'src/star-prefix.txt', 'src/m/star-prefix.txt', 'star-prefix.txt',
  'src/subx/one', 'src/subx/d/two', 'src/t/subx/three', 'src/ax.bin', 'src/dx.bin', 'src/obj.o/f', 'src/file.o', 'src/lit.txt', 'src/y/lit.txt',
  'src/lib/readme.md', 'src/lib/local-only.bin', 'src/lib/k/local-only.bin', 'src/lib/x/a.dat', 'src/lib/lib/x/b.dat', 'src/lib/ok.py',
  'src/keep/only-here.txt', 'src/keep/k/only-here.txt', 'src/keep/sub/deeper/f', 'src/keep/sub/v.bak', 'src/keep/sub/important.bak', 'src/keep/sub/w.py',
  'odd [dir]/a1.txt', 'odd [dir]/z/a2.txt', 'odd [dir]/b.txt', 'odd [dir]/z/b.txt', 'odd [dir]/q/r.txt', 'odd [dir]/p/q/r.txt', 'odd d/a1.txt',
  'scratch/s', 'secret.env', 'a.ckpt', 'best.ckpt', '.git/HEAD',
];

function project(): { dir: string; filters: FilterRule[] } {
  const dir = tree({ ...gitignores, ...Object.fromEntries(files.map((path) => [path, path])) });
  const rules = resolveRules({ exclude: ['scratch/', '*.ckpt'], includeOverrides: ['best.ckpt', 'data/'], protect: ['outputs/'] });
  return { dir, filters: buildFilterRules(rules, 'secret.env\n') };
}

describe('.gitignore files as global rsync rules', () => {
  it('rsync sends exactly the same files as with the per-directory merge rule', () => {
    const { dir, filters } = project();
    const expanded = expandGitignores(dir, filters);
    assert.ok(!expanded.some((rule) => rule.kind === 'dir-merge-excludes'));
    const target = mkdtempSync(join(root, 'target-'));
    const before = rsync(filters, dir, target, '--delete-after');
    const now = rsync(expanded, dir, target, '--delete-delay');
    assert.deepEqual(now.sent, before.sent);
    // The tree really exercises the rules: each of these is decided by a .gitignore.
    for (const ignored of ['train.log', 'root-only.txt', 'src/generated/', 'src/self.txt', 'src/lib/x/a.dat', 'src/lib/ok.py', 'odd [dir]/q/r.txt', 'data/a.raw', 'trail.txt ', '!keep.log']) {
      assert.ok(!before.sent.includes(ignored), ignored);
    }
    for (const sent of ['sub/root-only.txt', 'src/a/generated/g.py', 'src/keep/sub/w.py', 'data/b.csv', 'odd d/a1.txt', 'trail.txt', 'x1.txt']) {
      assert.ok(before.sent.includes(sent), sent);
    }
  });

  it('the receiver keeps and deletes the same host files as the old rule did with the new .gitignore files in place', () => {
    const { dir, filters } = project();
    const expanded = expandGitignores(dir, filters);
    // Host-only files, ignored and not. The old rule read the host's .gitignore files, after the transfer.
    const hostOnly = ['h.log', 'src/generated/h.py', 'src/lib/h.txt', 'odd [dir]/y/b.txt', 'src/keep/sub/deeper/h', 'gone.py', 'src/gone.py', 'src/keep/gone.py', 'outputs/run/m.json', 'data/h.raw', 'data/h.csv'];
    const withNewGitignores = tree({ ...gitignores, ...Object.fromEntries(hostOnly.map((path) => [path, 'host'])) });
    const withoutGitignores = tree(Object.fromEntries(hostOnly.map((path) => [path, 'host'])));
    const before = rsync(filters, dir, withNewGitignores, '--delete-after');
    const now = rsync(expanded, dir, withoutGitignores, '--delete-delay');
    assert.deepEqual(now.deleted, before.deleted);
    assert.deepEqual(now.deleted, ['data/h.csv', 'gone.py', 'src/gone.py', 'src/keep/gone.py']);
  });

  it('also with the rules in a file (a long list), which is private and removed afterwards', () => {
    const { dir, filters } = project();
    const expanded = expandGitignores(dir, filters);
    const spilled = inArgvOrFile(expanded, 10);
    assert.equal(spilled.filters.length, 1);
    const file = (spilled.filters[0] as { file: string }).file;
    assert.equal(readFileSync(file, 'utf8').split('\n').length, expanded.length + 1);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const target = mkdtempSync(join(root, 'target-'));
    assert.deepEqual(rsync(spilled.filters, dir, target, '--delete-delay').sent, rsync(expanded, dir, target, '--delete-delay').sent);
    spilled.cleanup();
    assert.ok(!existsSync(file));
    assert.equal(inArgvOrFile(expanded).filters, expanded);
  });

  it('reads no .gitignore inside a folder rsync does not walk into', () => {
    const { dir, filters } = project();
    const patterns = expandGitignores(dir, filters).flatMap((rule) => (rule.kind === 'exclude' ? [rule.pattern] : []));
    assert.ok(!patterns.some((pattern) => pattern.startsWith('/build/')));
    assert.ok(patterns.includes('/data/**/*.raw'));
    // Deeper folders first, as rsync puts them.
    assert.ok(patterns.includes('/src/keep/sub/**/*.bak') && patterns.indexOf('/src/keep/sub/**/*.bak') < patterns.indexOf('/src/keep/only-here.txt'));
    assert.ok(patterns.indexOf('/src/keep/only-here.txt') < patterns.indexOf('/src/cache*'));
  });

  it('anchors at a folder whose name has wildcard characters literally (rsync itself would read them as wildcards)', () => {
    const dir = tree({ 'odd [dir]/.gitignore': '/a*.txt\n', 'odd [dir]/a1.txt': '', 'odd [dir]/b.txt': '', 'odd d/a1.txt': '' });
    const filters = buildFilterRules(resolveRules({ protect: [] }), undefined);
    const target = mkdtempSync(join(root, 'target-'));
    assert.deepEqual(rsync(expandGitignores(dir, filters), dir, target, '--delete-delay').sent, ['odd [dir]/', 'odd [dir]/.gitignore', 'odd [dir]/b.txt', 'odd d/', 'odd d/a1.txt']);
    // rsync pastes the folder's path into the pattern unescaped, so "[dir]" became a character class there.
    assert.ok(rsync(filters, dir, target, '--delete-after').sent.includes('odd [dir]/a1.txt'));
  });

  it('fuzz: random trees and .gitignore files send the same files either way', () => {
    const names = ['a', 'b', 'x.txt', 'y.log'];
    const segment = fc.constantFrom('a', 'b', '*', '?', 'x.txt', '*.log', '[ab]', '**', 'a*');
    const pattern = fc
      .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([anchored, segments, dirOnly]) => `${anchored ? '/' : ''}${segments.join('/')}${dirOnly ? '/' : ''}`);
    const folder = fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }).map((parts) => parts.join('/'));
    const path = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.array(path, { minLength: 1, maxLength: 12 }), fc.array(fc.tuple(folder, fc.array(pattern, { minLength: 1, maxLength: 3 })), { maxLength: 3 }), (paths, ignores) => {
        const files: Record<string, string> = {};
        // A path must not be both a file and a folder: keep the first, drop what conflicts.
        for (const file of paths) if (!Object.keys(files).some((f) => f.startsWith(`${file}/`) || file.startsWith(`${f}/`))) files[file] = 'x';
        for (const [dir, lines] of ignores) {
          const at = dir === '' ? '.gitignore' : `${dir}/.gitignore`;
          if (!Object.keys(files).some((f) => f === dir || f.startsWith(`${at}/`) || dir.startsWith(`${f}/`))) files[at] = `${lines.join('\n')}\n`;
        }
        const dir = tree(files);
        const filters = buildFilterRules(resolveRules({ protect: [] }), undefined);
        const target = mkdtempSync(join(root, 'target-'));
        assert.deepEqual(rsync(expandGitignores(dir, filters), dir, target, '--delete-delay').sent, rsync(filters, dir, target, '--delete-after').sent, JSON.stringify(files));
      }),
      { numRuns: 60 },
    );
  });

  it('translates lines the way rsync reads them in a per-directory file', () => {
    assert.deepEqual(mergeFilePatterns('a\r\n\n# c\n;c\n!x\n b \r'), ['a', '!x', ' b ']);
    assert.deepEqual(translateGitignoreLine('', 'x/y'), ['x/y']);
    assert.deepEqual(translateGitignoreLine('src', '/gen/'), ['/src/gen/']);
    assert.deepEqual(translateGitignoreLine('src', '*.o'), ['/src/*.o', '/src/**/*.o']);
    assert.deepEqual(translateGitignoreLine('src', 'x/y'), ['/src/x/y', '/src/**/x/y']);
    assert.deepEqual(translateGitignoreLine('src', 'src/y'), ['/src/src/y', '/src/**/src/y', '/src/y']);
    assert.deepEqual(translateGitignoreLine('a/src', '**/y'), ['/a/src/**/y', '/a/src/y']);
    assert.deepEqual(translateGitignoreLine('a', 'a/***'), ['/a/a/***', '/a/**/a/***', '/a/**']);
    assert.deepEqual(translateGitignoreLine('d [1]', 'x'), ['/d \\[1]/x', '/d \\[1]/**/x']);
    assert.deepEqual(translateGitignoreLine('d', 'x\\y'), ['/d/x\\y', '/d/**/x\\\\y']);
    assert.deepEqual(translateGitignoreLine('d', '/'), []);
  });
});
