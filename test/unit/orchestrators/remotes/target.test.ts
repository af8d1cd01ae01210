import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { parsePort, parseTarget, validateAlias, validateUser } from '../../../../src/orchestrators/remotes/target.ts';

const fails = (code: string) => (e: unknown) => e instanceof UserError && e.code === code && e.hint.length > 0;

describe('remote targets', () => {
  it('parses [user@]host[:port]', () => {
    assert.deepEqual(parseTarget('gpu-box'), { host: 'gpu-box' });
    assert.deepEqual(parseTarget('alice@gpu-box.example.com'), { host: 'gpu-box.example.com', user: 'alice' });
    assert.deepEqual(parseTarget('alice@10.0.0.5:2222'), { host: '10.0.0.5', user: 'alice', port: 2222 });
    assert.deepEqual(parseTarget('gpu_box:22'), { host: 'gpu_box', port: 22 });
    assert.deepEqual(parseTarget('alice@corp.example@gpu'), { host: 'gpu', user: 'alice@corp.example' }, 'the last @ separates the host');
  });

  it('parses IPv6 addresses, bracketed when a port follows', () => {
    assert.deepEqual(parseTarget('[::1]:2222'), { host: '::1', port: 2222 });
    assert.deepEqual(parseTarget('root@[fe80::1]'), { host: 'fe80::1', user: 'root' });
    assert.deepEqual(parseTarget('::1'), { host: '::1' });
  });

  it('refuses what ssh could read as an option or a shell could interpret', () => {
    for (const bad of ['', '-oProxyCommand=x', 'alice@', 'alice@-x', 'gpu box', 'gpu;rm', 'a$b', '-u@host', 'host:', 'host:0', 'host:65536', 'host:22x', '[::1', '[::1]x', '[gpu]', 'gpu.', 'a@b@', ' gpu']) {
      assert.throws(() => parseTarget(bad), fails('REMOTE_TARGET_INVALID'), bad);
    }
  });

  it('validates aliases: letters, digits, - _ . starting with a letter or digit', () => {
    for (const good of ['gpu', 'GPU-2', 'lab.a100', 'a_b', '1st']) assert.equal(validateAlias(good), good);
    for (const bad of ['', '-gpu', '.gpu', 'gpu box', 'gpu/x', 'gpu@x', 'ä', 'x'.repeat(65)]) assert.throws(() => validateAlias(bad), fails('REMOTE_ALIAS_INVALID'), bad);
  });

  it('validates ports and user names', () => {
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('65535'), 65535);
    for (const bad of ['0', '65536', '-1', '22.0', 'ssh', '', '0x16']) assert.throws(() => parsePort(bad), fails('REMOTE_TARGET_INVALID'), bad);
    assert.equal(validateUser('alice.b-c_d'), 'alice.b-c_d');
    for (const bad of ['-x', 'a b', 'a;b', '']) assert.throws(() => validateUser(bad), fails('REMOTE_TARGET_INVALID'), bad);
  });
});
