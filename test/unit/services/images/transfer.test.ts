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
