import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildFilterRules, resolveRules, toRsyncFilter } from '../../../../src/services/sync/filters.ts';
import { compileRsyncPattern, IgnoreMatcher } from '../../../../src/services/sync/ignore-matcher.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-ignore-'));
after(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'tree-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = `${prefix}${entry.name}`;
    return entry.isDirectory() ? [`${path}/`, ...walk(join(dir, entry.name), `${path}/`)] : [path];
  });
}

describe('ignore matcher', () => {
  it('compiles rsync patterns: name vs path, anchored, folder-only, ** and ***', () => {
    assert.ok(compileRsyncPattern('*.log')('a/b/x.log', false));
    assert.ok(!compileRsyncPattern('/x.log')('a/x.log', false));
    assert.ok(compileRsyncPattern('/x.log')('x.log', false));
    assert.ok(compileRsyncPattern('a/b')('z/a/b', false));
    assert.ok(!compileRsyncPattern('a/b')('za/b', false));
    assert.ok(compileRsyncPattern('build/')('src/build', true));
    assert.ok(!compileRsyncPattern('build/')('src/build', false));
    assert.ok(compileRsyncPattern('data/**')('data/x/y', false));
    assert.ok(compileRsyncPattern('/data/***')('data', true));
    assert.ok(compileRsyncPattern('file[0-9].txt')('file3.txt', false));
  });

  it('agrees with rsync itself on a project with nested .gitignore, .dockerignore, excludes and overrides', () => {
    const dir = tree({
      '.gitignore': 'data/\n*.log\n/root-only.txt\n!keep.log\n',
      '.dockerignore': 'docker-skip/\n*.md\n!README.md\n',
      'README.md': 'r', 'NOTES.md': 'n', 'docker-skip/x': 'x', 'sub/NOTES.md': 'kept: dockerignore is root-anchored',
      'root-only.txt': 'r', 'sub/root-only.txt': 'kept: anchored elsewhere',
      'train.py': 't', 'train.log': 'l', 'keep.log': 'rsync ignores "!" in .gitignore',
      'data/big.bin': 'b', 'src/data/inner.bin': 'name match at any depth',
      'src/.gitignore': '/generated/\ncache*\n', 'src/generated/g.py': 'g', 'src/cache1': 'c', 'src/ok.py': 'o', 'src/deep/cache2': 'c',
      'src/deep/generated/not-anchored-here.py': 'kept',
      'scratch/tmp.bin': 's', 'a.ckpt': 'c', 'best.ckpt': 'override', 'debug.log.keep': 'k',
      '.git/config': 'g', 'models/.git': 'gitfile',
    });
    const filters = buildFilterRules(resolveRules({ exclude: ['scratch/', '*.ckpt'], includeOverrides: ['best.ckpt', 'debug.log.keep'] }), 'docker-skip/\n*.md\n!README.md\n');
    const target = mkdtempSync(join(root, 'target-'));
    const rsync = spawnSync('rsync', ['-rn', '--out-format=%n', ...filters.map((f) => `--filter=${toRsyncFilter(f)}`), `${dir}/`, `${target}/`], { encoding: 'utf8' });
    assert.equal(rsync.status, 0, rsync.stderr);
    const sent = new Set(rsync.stdout.split('\n').filter((line) => line !== '' && line !== './'));
    const matcher = new IgnoreMatcher(dir, filters);
    const disagreements = walk(dir).filter((path) => matcher.ignores(path.replace(/\/$/, '')) === sent.has(path));
    assert.deepEqual(disagreements, [], `rsync sent: ${[...sent].sort().join(', ')}`);
    assert.ok(sent.has('best.ckpt') && !sent.has('a.ckpt') && !sent.has('train.log') && sent.has('sub/NOTES.md'));
  });

  it('reads a changed .gitignore again when told', () => {
    const dir = tree({ '.gitignore': '*.a\n', 'x.a': '', 'x.b': '' });
    const matcher = new IgnoreMatcher(dir, buildFilterRules(resolveRules(), undefined));
    assert.ok(matcher.ignores('x.a') && !matcher.ignores('x.b'));
    writeFileSync(join(dir, '.gitignore'), '*.b\n');
    matcher.forgetRuleFile('');
    assert.ok(!matcher.ignores('x.a') && matcher.ignores('x.b'));
    assert.ok(matcher.ignores('.git/index'));
  });
});
