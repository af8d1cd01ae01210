import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeLockfile } from '../../../../src/services/features/lockfile.ts';

describe('devcontainer-lock.json writing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mlt-lockfile-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const entry = { version: '1.2.0', resolved: `ghcr.io/devcontainers/features/python@sha256:${'a'.repeat(64)}`, integrity: `sha256:${'a'.repeat(64)}` };

  it('only local folders (nothing to lock): no empty lockfile appears in the project', async () => {
    const file = join(dir, 'local-only', 'devcontainer-lock.json');
    assert.equal(await writeLockfile(file, { features: {} }), false);
    await assert.rejects(readFile(file), { code: 'ENOENT' });
  });

  it('written once, not again when unchanged; emptied (not removed) when its last locked feature goes', async () => {
    const file = join(dir, 'devcontainer-lock.json');
    assert.equal(await writeLockfile(file, { features: { 'ghcr.io/devcontainers/features/python:1': entry } }), true);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).features['ghcr.io/devcontainers/features/python:1'], entry);
    assert.equal(await writeLockfile(file, { features: { 'ghcr.io/devcontainers/features/python:1': entry } }), false);
    assert.equal(await writeLockfile(file, { features: {} }), true);
    assert.equal(await readFile(file, 'utf8'), '{\n  "features": {}\n}\n');
  });

  it('an existing empty lockfile stays as it is', async () => {
    const file = join(dir, 'kept-lock.json');
    await writeFile(file, '{\n  "features": {}\n}\n');
    assert.equal(await writeLockfile(file, { features: {} }), false);
  });
});
