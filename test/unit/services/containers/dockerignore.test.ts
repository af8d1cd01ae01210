import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanPath, parseDockerignore } from '../../../../src/services/containers/dockerignore.ts';

describe('.dockerignore', () => {
  it('matches like docker: root-relative, folders exclude their content, last match wins', () => {
    const m = parseDockerignore(['# comment', '', 'data', '*.ckpt', '**/__pycache__', '/build/', 'logs/*.txt', '!logs/keep.txt', '.git'].join('\n'));
    const ignored = ['data', 'data/x.bin', 'model.ckpt', 'a/__pycache__/m.pyc', '__pycache__', 'build/out', 'logs/a.txt', '.git/HEAD'];
    const kept = ['src/data', 'src/model.ckpt', 'logs/keep.txt', 'logs/sub/a.txt', 'train.py', 'database'];
    for (const path of ignored) assert.equal(m.ignores(path), true, path);
    for (const path of kept) assert.equal(m.ignores(path), false, path);
    assert.equal(m.hasExceptions, true);
  });
  it('supports ?, classes, escapes and **', () => {
    const m = parseDockerignore('file?.txt\n[ab].md\nx\\*y\nsrc/**/*.o\n');
    assert.equal(m.ignores('file1.txt'), true);
    assert.equal(m.ignores('file10.txt'), false);
    assert.equal(m.ignores('a.md'), true);
    assert.equal(m.ignores('c.md'), false);
    assert.equal(m.ignores('x*y'), true);
    assert.equal(m.ignores('xzy'), false);
    assert.equal(m.ignores('src/a.o'), true);
    assert.equal(m.ignores('src/a/b/c.o'), true);
  });
  it('a bare ** with an exception keeps only the exception', () => {
    const m = parseDockerignore('**\n!Dockerfile\n!src\n');
    assert.equal(m.ignores('README.md'), true);
    assert.equal(m.ignores('src/main.py'), false);
    assert.equal(m.ignores('Dockerfile'), false);
  });
  it('cleans paths like Go filepath.Clean', () => {
    assert.equal(cleanPath('./a/../b/'), 'b');
    assert.equal(cleanPath('/x//y/.'), 'x/y');
    assert.equal(cleanPath('../../z'), 'z');
  });
});
