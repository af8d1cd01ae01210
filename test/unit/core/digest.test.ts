import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256Hex, uniqueHex } from '../../../src/core/digest.ts';

describe('digest', () => {
  it('sha256Hex is node:crypto\'s SHA-256 (names made before stay the same: sockets, projects, labels)', () => {
    for (const text of ['', 'a', 'héllo ✓ 日本語', '\u0000\n', 'x'.repeat(10_000), JSON.stringify(['gpu-box', 'alice', 22, '', '', ''])]) {
      assert.equal(sha256Hex(text), createHash('sha256').update(text).digest('hex'));
    }
  });

  it('uniqueHex gives the asked number of bytes in hex, different each time', () => {
    assert.match(uniqueHex(4), /^[0-9a-f]{8}$/);
    assert.match(uniqueHex(8), /^[0-9a-f]{16}$/);
    const seen = new Set(Array.from({ length: 1000 }, () => uniqueHex(8)));
    assert.equal(seen.size, 1000);
  });
});
