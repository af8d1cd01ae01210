import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copiedFilesFingerprint, copiedSources } from '../../../../src/orchestrators/connection/build-inputs.ts';

describe('Dockerfile COPY inputs', () => {
  it('names the sources of COPY and ADD, skipping the whole context, globs, stages, URLs and variables', () => {
    const dockerfile = [
      'FROM python:3.12',
      '# COPY ignored.txt /x',
      'COPY requirements.txt /tmp/',
      'copy --chown=1000:1000 ./env/ conf.yaml /etc/app/',
      'COPY ["space name.txt", "/dst/"]',
      'ADD https://example.com/x.tar.gz /opt/',
      'COPY --from=builder /out /out',
      'COPY . /workspace',
      'COPY *.py /app/',
      'COPY $FILE /app/',
      'RUN pip install \\',
      '  -r /tmp/requirements.txt',
      'COPY scripts \\',
      '  /usr/local/bin/',
    ].join('\n');
    assert.deepEqual(copiedSources(dockerfile), ['requirements.txt', 'env', 'conf.yaml', 'space name.txt', 'scripts']);
  });

  it('changes when a copied file changes, not when another file does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-build-inputs-'));
    try {
      const dockerfile = 'FROM x\nCOPY requirements.txt deps/ /tmp/\nCOPY ../outside /x\n';
      await writeFile(join(dir, 'requirements.txt'), 'torch==2.3\n');
      await mkdir(join(dir, 'deps'));
      await writeFile(join(dir, 'deps', 'a.txt'), 'a');
      await writeFile(join(dir, 'train.py'), 'print(1)');
      const first = await copiedFilesFingerprint(dockerfile, dir);
      await writeFile(join(dir, 'train.py'), 'print(2)');
      assert.equal(await copiedFilesFingerprint(dockerfile, dir), first);
      await writeFile(join(dir, 'requirements.txt'), 'torch==2.4\n');
      const second = await copiedFilesFingerprint(dockerfile, dir);
      assert.notEqual(second, first);
      await writeFile(join(dir, 'deps', 'b.txt'), 'b');
      assert.notEqual(await copiedFilesFingerprint(dockerfile, dir), second);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
