import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateToken, hashToken, presentedToken, tokenId, tokenMatches } from '../../../src/relay/server/tokens.ts';

describe('relay tokens', () => {
  it('are random, scoped by prefix, found by id and matched by hash only', () => {
    const a = generateToken('user');
    const b = generateToken('agent');
    assert.match(a.token, /^mltr_u_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    assert.match(b.token, /^mltr_a_/);
    assert.notEqual(a.token, generateToken('user').token);
    assert.equal(tokenId(a.token), a.id);
    assert.equal(a.hash, hashToken(a.token));
    assert.ok(!a.hash.includes(a.token.slice(20)));
    assert.equal(tokenMatches(a.token, { hash: a.hash }), true);
    assert.equal(tokenMatches(`${a.token.slice(0, -1)}x`, { hash: a.hash }), false);
    assert.equal(tokenMatches(a.token, { hash: 'abcd' }), false, 'a malformed stored hash never matches');
  });

  it('refuse anything not shaped like a token', () => {
    for (const text of ['', 'Bearer', 'mltr_u_short_x', `mltr_x_${'a'.repeat(12)}_${'b'.repeat(43)}`, `mltr_u_${'a'.repeat(12)}_${'b'.repeat(43)}\n`]) {
      assert.equal(tokenId(text), undefined, JSON.stringify(text));
    }
  });

  it('are read from Authorization: Bearer or a bearer.* WebSocket subprotocol, nothing else', () => {
    assert.equal(presentedToken({ authorization: 'Bearer abc' }), 'abc');
    assert.equal(presentedToken({ authorization: 'bearer  abc ' }), 'abc');
    assert.equal(presentedToken({ authorization: 'Basic abc' }), undefined);
    assert.equal(presentedToken({ 'sec-websocket-protocol': 'mlt.relay.v1, bearer.xyz' }), 'xyz');
    assert.equal(presentedToken({ cookie: 'token=abc' }), undefined);
    assert.equal(presentedToken({}), undefined);
  });
});
