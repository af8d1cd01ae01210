import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { formatTarget, parsePortNumber, parseTarget, parseUser, resolveTarget, validateAlias } from '../../../../src/services/ssh/target.ts';

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
    ['a@b@relhost', /not a valid user name/],
    ['alice@corp.example@gpu', /not a valid user name/],
    ['gpu box', /whitespace/],
    ['alice@', /missing/],
  ];
  for (const [input, pattern] of bad) {
    it(`refuses '${input}' with REMOTE_TARGET_INVALID`, () => {
      assert.throws(() => parseTarget(input), (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.equal(error.code, 'REMOTE_TARGET_INVALID');
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

describe('resolveTarget: one rule for every command', () => {
  const remote = { host: 'gpu-box', user: 'cfg', port: 2200, identity_file: '/k', connect_timeout: 5, ssh_config: '/c' };
  const always = { identityFile: '/k', connectTimeout: 5, sshConfigFile: '/c' };

  it('remote.user and remote.port are defaults for remote.host only', () => {
    assert.deepEqual(resolveTarget('gpu-box', remote), { host: 'gpu-box', user: 'cfg', port: 2200, ...always });
    assert.deepEqual(resolveTarget('other-host', remote), { host: 'other-host', ...always });
    assert.deepEqual(resolveTarget('me@gpu-box:22', remote), { host: 'gpu-box', user: 'me', port: 22, ...always }, 'what the text says wins');
  });

  it('a saved remote brings its host, user, port and key', () => {
    const saved = { host: '10.0.0.5', user: 'alice', port: 2222, identityFile: '/saved-key' };
    assert.deepEqual(resolveTarget('lab', remote, saved), { host: '10.0.0.5', user: 'alice', port: 2222, identityFile: '/saved-key', connectTimeout: 5, sshConfigFile: '/c' });
    assert.deepEqual(resolveTarget('lab', {}, { host: 'h', user: null, port: null, identityFile: null }), { host: 'h' });
  });

  it('validates the text the same way as parseTarget', () => {
    assert.throws(() => resolveTarget('a@b@relhost', remote), (e: UserError) => e.code === 'REMOTE_TARGET_INVALID');
  });
});

describe('user names, ports and aliases', () => {
  const fails = (code: string) => (e: unknown) => e instanceof UserError && e.code === code && e.hint.length > 0;

  it('validates aliases: letters, digits, - _ . starting with a letter or digit', () => {
    for (const good of ['gpu', 'GPU-2', 'lab.a100', 'a_b', '1st']) assert.equal(validateAlias(good), good);
    for (const bad of ['', '-gpu', '.gpu', 'gpu box', 'gpu/x', 'gpu@x', 'ä', 'x'.repeat(65)]) assert.throws(() => validateAlias(bad), fails('REMOTE_ALIAS_INVALID'), bad);
  });

  it('validates ports and user names with the target rules', () => {
    assert.equal(parsePortNumber('1'), 1);
    assert.equal(parsePortNumber('65535'), 65535);
    for (const bad of ['0', '65536', '-1', '22.0', 'ssh', '', '0x16']) assert.throws(() => parsePortNumber(bad), fails('REMOTE_TARGET_INVALID'), bad);
    assert.equal(parseUser('alice.b-c_d'), 'alice.b-c_d');
    for (const bad of ['-x', 'a b', 'a;b', '', 'a@b']) assert.throws(() => parseUser(bad), fails('REMOTE_TARGET_INVALID'), bad);
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
