import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LockTimeoutError, tryLock, withLock } from '../../../src/infrastructure/file-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlt-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('file lock', () => {
  it('serializes work: 30 concurrent holders never overlap', async () => {
    const file = join(dir, 'a.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 30 }, () => withLock(file, async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 2));
      inside--;
    })));
    assert.equal(most, 1);
    assert.equal(existsSync(file), false, 'released');
  });

  it('a lock left by a dead process is taken over; a live owner is reported', async () => {
    const file = join(dir, 'b.lock');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(file, `tok ${dead.pid} connect\n`);
    const taken = await tryLock(file);
    assert.ok('release' in taken);
    await taken.release();
    writeFileSync(file, `tok ${process.ppid} connect gpu\n`);
    const busy = await tryLock(file);
    assert.deepEqual(busy, { owner: { pid: process.ppid, purpose: 'connect gpu' } });
    const seen: number[] = [];
    await assert.rejects(withLock(file, async () => {}, { timeoutMs: 100, onBusy: (o) => seen.push(o.pid) }), LockTimeoutError);
    assert.deepEqual(seen, [process.ppid]);
    rmSync(file);
  });

  it('a process killed holding a lock (exit handler) frees it', async () => {
    const file = join(dir, 'c.lock');
    const url = new URL('../../../src/infrastructure/file-lock.ts', import.meta.url).href;
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const { withLock } = await import(${JSON.stringify(url)}); process.on('SIGINT', () => process.exit(130)); await withLock(${JSON.stringify(file)}, () => new Promise((r) => { console.log('held'); setTimeout(r, 60000); }));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout.once('data', r));
    assert.ok(existsSync(file));
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
    assert.equal(existsSync(file), false);
  });
});
