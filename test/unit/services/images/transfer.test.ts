import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { chainIds } from '../../../../src/services/containers/layers.ts';
import { presentPrefix } from '../../../../src/services/images/transfer.ts';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

describe('image transfer: which layers the host already has', () => {
  it('chain IDs follow the OCI definition: chain(L0) = L0, chain(..Ln) = sha256(chain(..Ln-1) + " " + Ln)', () => {
    const [a, b, c] = chainIds([d(1), d(2), d(3)]);
    assert.equal(a, d(1));
    assert.equal(b, `sha256:${createHash('sha256').update(`${d(1)} ${d(2)}`).digest('hex')}`);
    assert.equal(c, `sha256:${createHash('sha256').update(`${b} ${d(3)}`).digest('hex')}`);
  });

  it('only a leading run of present chains counts: the same layer on another base is not the same stack', () => {
    const host = new Set(chainIds([d(1), d(2), d(3)]));
    assert.equal(presentPrefix([d(1), d(2), d(9)], host), 2, 'shares the base: only the last layer travels');
    assert.equal(presentPrefix([d(1), d(2), d(3)], host), 3);
    assert.equal(presentPrefix([d(7), d(2), d(3)], host), 0, 'same diff IDs above another base: all of it travels');
    assert.equal(presentPrefix([], host), 0);
  });
});

describe('tar index: members cut out by byte range', () => {
  it('records every member (long pax names, empty files, large data), chunked any way; the cut archive reads back without the skipped ones', async () => {
    const { tarStream, createTarIndexer } = await import('../../../../src/services/containers/tar.ts');
    const tar = ((await import('tar-stream')) as unknown as { default: typeof import('tar-stream') }).default;
    const mtime = new Date(0);
    const long = `${'d'.repeat(120)}/layer.tar`;
    const big = Buffer.alloc(700_001, 7);
    const entries = [
      { type: 'data' as const, path: 'manifest.json', mode: 0o644, mtime, data: Buffer.from('[{"Layers":["a/layer.tar"]}]') },
      { type: 'data' as const, path: long, mode: 0o644, mtime, data: big },
      { type: 'data' as const, path: 'empty', mode: 0o644, mtime, data: Buffer.alloc(0) },
      { type: 'directory' as const, path: 'a', mode: 0o755, mtime },
      { type: 'data' as const, path: 'a/layer.tar', mode: 0o644, mtime, data: Buffer.from('top layer') },
    ];
    const chunks: Buffer[] = [];
    for await (const chunk of tarStream(entries)) chunks.push(chunk);
    const archive = Buffer.concat(chunks);
    for (const size of [1, 511, 4096, archive.length]) {
      const index = createTarIndexer((name) => name.endsWith('.json'));
      for (let at = 0; at < archive.length; at += size) index.push(archive.subarray(at, at + size));
      assert.deepEqual(index.entries.map((e) => e.name), ['manifest.json', long, 'empty', 'a/', 'a/layer.tar'], `chunks of ${size}`);
      assert.equal(index.entries[0]!.data?.toString(), '[{"Layers":["a/layer.tar"]}]');
      assert.equal(index.entries[1]!.size, big.length);
      assert.equal(index.entries[1]!.data, undefined, 'layer data is not kept in memory');
      // Cut out the big member: the rest is a valid archive with the other members intact.
      const kept = index.entries.filter((e) => e.name !== long);
      const cut = Buffer.concat([...kept.map((e) => archive.subarray(e.start, e.end)), Buffer.alloc(1024)]);
      const extract = tar.extract();
      const seen: Record<string, string> = {};
      extract.on('entry', (header, stream, next) => {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => {
          seen[header.name] = Buffer.concat(parts).toString();
          next();
        });
      });
      await new Promise((resolve, reject) => {
        extract.on('finish', resolve);
        extract.on('error', reject);
        extract.end(cut);
      });
      assert.deepEqual(Object.keys(seen), ['manifest.json', 'empty', 'a/', 'a/layer.tar']);
      assert.equal(seen['a/layer.tar'], 'top layer');
    }
  });
});
