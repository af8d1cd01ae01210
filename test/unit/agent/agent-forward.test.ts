import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frame, frameReader, LISTENER_SCRIPT } from '../../../src/agent/agent-forward.ts';

describe('agent forwarding frames', () => {
  it('a frame read back whole, however the bytes are cut', () => {
    const bytes = Buffer.concat([frame('D', 7, Buffer.from('hello agent')), frame('C', 7), frame('D', 65536, Buffer.alloc(70_000, 1))]);
    for (const cut of [1, 3, 9, 10, 4096, bytes.length]) {
      const seen: [string, number, number][] = [];
      const read = frameReader((type, id, payload) => seen.push([type, id, payload.length]));
      for (let i = 0; i < bytes.length; i += cut) read(bytes.subarray(i, i + cut));
      assert.deepEqual(seen, [['D', 7, 11], ['C', 7, 0], ['D', 65536, 70_000]], `cut every ${cut} bytes`);
    }
  });

  it('the listener keeps its socket private and removes it when the session ends', () => {
    assert.match(LISTENER_SCRIPT, /os\.umask\(0o177\)/);
    assert.match(LISTENER_SCRIPT, /mode=0o700/);
    assert.match(LISTENER_SCRIPT, /os\.unlink\(path\)/);
  });
});
