import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, describe, it } from 'node:test';
import { packBuildContext } from '../../../../src/services/containers/build-context.ts';
import { tarStream } from '../../../../src/services/containers/tar.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlt-ctx-'));
  dirs.push(dir);
  return dir;
}

/** The system tar is the judge of whether our archive is well-formed. */
function listTar(archive: Buffer): string[] {
  const result = spawnSync('tar', ['-tf', '-'], { input: archive });
  assert.equal(result.status, 0, result.stderr.toString());
  return result.stdout.toString().split('\n').filter(Boolean).sort();
}

function extractFile(archive: Buffer, path: string): string {
  const result = spawnSync('tar', ['-xOf', '-', path], { input: archive });
  assert.equal(result.status, 0, result.stderr.toString());
  return result.stdout.toString();
}

describe('tar writer', () => {
  it('writes files, folders, symlinks, long names and empty files tar can read', async () => {
    const longName = `${'deep/'.repeat(30)}file.txt`;
    const mtime = new Date('2024-01-01T00:00:00Z');
    const archive = await buffer(tarStream([
      { type: 'directory', path: 'dir', mode: 0o755, mtime },
      { type: 'data', path: 'dir/a.txt', mode: 0o644, mtime, data: Buffer.from('hello\n') },
      { type: 'data', path: 'empty', mode: 0o644, mtime, data: Buffer.alloc(0) },
      { type: 'data', path: longName, mode: 0o600, mtime, data: Buffer.from('x'.repeat(1000)) },
      { type: 'symlink', path: 'link', mode: 0o777, mtime, target: 'dir/a.txt' },
    ]));
    assert.equal(archive.length % 512, 0);
    assert.deepEqual(listTar(archive), ['dir/', 'dir/a.txt', 'empty', 'link', longName].sort());
    assert.equal(extractFile(archive, 'dir/a.txt'), 'hello\n');
    assert.equal(extractFile(archive, longName), 'x'.repeat(1000));
  });
});

describe('build context', () => {
  it('honours .dockerignore but always sends the Dockerfile and .dockerignore', async () => {
    const ctx = await tempDir();
    await mkdir(join(ctx, 'data'));
    await mkdir(join(ctx, 'src'));
    await writeFile(join(ctx, 'Dockerfile'), 'FROM x\n');
    await writeFile(join(ctx, '.dockerignore'), 'data\n*.ckpt\nDockerfile\n.dockerignore\n');
    await writeFile(join(ctx, 'data', 'huge.bin'), 'big');
    await writeFile(join(ctx, 'model.ckpt'), 'weights');
    await writeFile(join(ctx, 'src', 'train.py'), 'print(1)\n');
    await symlink('src/train.py', join(ctx, 'main.py'));
    const context = await packBuildContext({ context: ctx });
    assert.equal(context.dockerfile, 'Dockerfile');
    assert.deepEqual(listTar(await buffer(context.stream)), ['.dockerignore', 'Dockerfile', 'main.py', 'src/', 'src/train.py']);
  });

  it('carries a Dockerfile from outside the context under a fixed name', async () => {
    const ctx = await tempDir();
    const other = await tempDir();
    await writeFile(join(ctx, 'app.py'), '');
    await writeFile(join(other, 'Dockerfile.gpu'), 'FROM gpu\n');
    const context = await packBuildContext({ context: ctx, dockerfile: join(other, 'Dockerfile.gpu') });
    assert.equal(context.dockerfile, '.mltoolbox.Dockerfile');
    const archive = await buffer(context.stream);
    assert.deepEqual(listTar(archive), ['.mltoolbox.Dockerfile', 'app.py']);
    assert.equal(extractFile(archive, '.mltoolbox.Dockerfile'), 'FROM gpu\n');
  });

  it('a Dockerfile in a subfolder is named relative to the context', async () => {
    const ctx = await tempDir();
    await mkdir(join(ctx, 'docker'));
    await writeFile(join(ctx, 'docker', 'Dockerfile'), 'FROM x\n');
    assert.equal((await packBuildContext({ context: ctx, dockerfile: 'docker/Dockerfile' })).dockerfile, 'docker/Dockerfile');
  });
});
