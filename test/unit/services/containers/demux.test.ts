import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDemuxer } from '../../../../src/services/containers/demux.ts';
import { frame } from './fake-engine.ts';

describe('demuxer', () => {
  it('reassembles frames split at any byte', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n')]);
    for (let cut = 1; cut < all.length; cut++) {
      const got: string[] = [];
      const d = createDemuxer((c) => got.push(`${c.stream}:${c.data.toString()}`));
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      d.end();
      assert.deepEqual(got, ['stdout:hello ', 'stderr:oops\n', 'stdout:world\n'], `cut at ${cut}`);
    }
  });
});
