import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { formatTarget, parseTarget } from '../../../../src/services/ssh/target.ts';

describe('parseTarget', () => {
  const cases: [string, ReturnType<typeof parseTarget>][] = [
    ['gpu-box', { host: 'gpu-box' }],
    ['alice@gpu-box', { host: 'gpu-box', user: 'alice' }],
    ['alice@10.0.0.5:2222', { host: '10.0.0.5', user: 'alice', port: 2222 }],
    ['gpu.example.com:22', { host: 'gpu.example.com', port: 22 }],
    ['ssh://alice@gpu-box:2222', { host: 'gpu-box', user: 'alice', port: 2222 }],
    ['ssh://gpu-box/', { host: 'gpu-box' }],
    ['SSH://bob@h', { host: 'h', user: 'bob' }],
    ['[::1]:22', { host: '::1', port: 22 }],
    ['[::1]', { host: '::1' }],
    ['alice@[fe80::1]:2200', { host: 'fe80::1', user: 'alice', port: 2200 }],
    ['ssh://alice@[2001:db8::1]:2222', { host: '2001:db8::1', user: 'alice', port: 2222 }],
    ['::1', { host: '::1' }],
    ['  mlt-test-host ', { host: 'mlt-test-host' }],
    ['first.last@host', { host: 'host', user: 'first.last' }],
  ];
  for (const [input, expected] of cases) {
    it(`reads '${input}'`, () => assert.deepEqual(parseTarget(input), expected));
  }

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['-oProxyCommand=touch /tmp/x', /whitespace/],
    ['-oProxyCommand=x', /not a valid host name/],
    ['alice@-evil', /not a valid host name/],
    ['-alice@host', /not a valid user name/],
    ['@host', /not a valid user name/],
    ['host:', /not a port number/],
    ['host:0', /not a port number/],
    ['host:65536', /not a port number/],
    ['host:22x', /not a port number/],
    ['[::1', /closing/],
    ['[::1]x', /unexpected/],
    ['fe80::1:22:x', /brackets/],
    ['http://host', /only ssh:\/\//],
    ['ssh://host/path', /not a path/],
    ['a;b', /not a valid host name/],
    ['a$(id)', /not a valid host name/],
    [':22', /missing/],
  ];
  for (const [input, pattern] of bad) {
    it(`refuses '${input}' with a USAGE error`, () => {
      assert.throws(() => parseTarget(input), (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.equal(error.code, 'USAGE');
        assert.match(error.message, pattern);
        assert.match(error.hint, /\[user@\]host\[:port\]/);
        return true;
      });
    });
  }

  it('applies remote.* defaults; an explicit user or port wins', () => {
    const defaults = { user: 'cfg', port: 2200, identityFile: '/k', connectTimeout: 5, sshConfigFile: '/c' };
    assert.deepEqual(parseTarget('h', defaults), { host: 'h', user: 'cfg', port: 2200, identityFile: '/k', connectTimeout: 5, sshConfigFile: '/c' });
    assert.deepEqual(parseTarget('me@h:22', defaults), { host: 'h', user: 'me', port: 22, identityFile: '/k', connectTimeout: 5, sshConfigFile: '/c' });
  });
});

describe('formatTarget', () => {
  it('writes targets back the way a user types them', () => {
    assert.equal(formatTarget({ host: 'gpu-box' }), 'gpu-box');
    assert.equal(formatTarget({ host: 'h', user: 'a', port: 2222 }), 'a@h:2222');
    assert.equal(formatTarget({ host: '::1', port: 22 }), '[::1]:22');
    assert.equal(formatTarget({ host: '::1' }), '::1');
  });

  it('round-trips through parseTarget', () => {
    for (const text of ['gpu-box', 'a@h:2222', '[::1]:22', 'root@[fe80::1]:2']) assert.equal(formatTarget(parseTarget(text)), text);
  });
});
