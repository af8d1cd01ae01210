import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifySshFailure, type SshFailureContext } from '../../../../src/services/ssh/errors.ts';

const ctx: SshFailureContext = {
  display: 'gpu-box',
  port: 2222,
  tryCommand: 'ssh -p 2222 gpu-box true',
  knownHostsName: '[10.0.0.5]:2222',
  connectTimeout: 10,
};

/** Shell start-up noise that a user's bashrc prints on stderr before ssh's own message. */
const NOISE = 'pyenv: command not found\n/home/a/.bashrc: line 3: conda: No such file\n';

describe('classifySshFailure', () => {
  const cases: [string, string, RegExp, RegExp][] = [
    ['connection refused', 'ssh: connect to host 10.0.0.5 port 2222: Connection refused\n', /cannot reach gpu-box: connection refused \(port 2222\)/, /ssh -p 2222 gpu-box true/],
    ['no route', 'ssh: connect to host 10.0.0.5 port 22: No route to host\n', /no route to host/, /sshd listens/],
    ['network unreachable', 'ssh: connect to host 10.0.0.5 port 22: Network is unreachable\n', /network is unreachable/, /ssh -p 2222/],
    ['unknown name', 'ssh: Could not resolve hostname gpu-bx: Name or service not known\n', /could not resolve hostname/i, /ssh -G 10\.0\.0\.5/],
    ['macOS unknown name', 'ssh: Could not resolve hostname gpu-bx: nodename nor servname provided, or not known\n', /resolve/, /ssh config/],
    ['reset during kex', 'kex_exchange_identification: read: Connection reset by peer\n', /connection reset/i, /sshd listens/],
  ];
  for (const [name, stderr, message, hint] of cases) {
    it(`${name} -> SSH_UNREACHABLE`, () => {
      const error = classifySshFailure(255, NOISE + stderr, ctx);
      assert.equal(error?.code, 'SSH_UNREACHABLE');
      assert.match(error.message, message);
      assert.match(error.hint, hint);
      assert.equal(error.exitCode, 4);
    });
  }

  it('Permission denied -> SSH_AUTH_FAILED with ssh-add and ssh -v in the hint', () => {
    const error = classifySshFailure(255, `${NOISE}alice@10.0.0.5: Permission denied (publickey).\n`, ctx);
    assert.equal(error?.code, 'SSH_AUTH_FAILED');
    assert.match(error.message, /refused our keys: Permission denied \(publickey\)/);
    assert.match(error.hint, /ssh-add -l/);
    assert.match(error.hint, /ssh -v -p 2222 gpu-box true/);
    assert.match(error.hint, /remote\.identity_file/);
  });

  it('changed host key -> SSH_HOST_KEY_CHANGED with the ssh-keygen -R line ssh suggested', () => {
    const stderr = [
      '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
      '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
      'Offending ED25519 key in /tmp/kh:1',
      '  remove with:',
      '  ssh-keygen -f "/tmp/kh" -R "[127.0.0.1]:41849"',
      'Host key for [127.0.0.1]:41849 has changed and you have requested strict checking.',
      'Host key verification failed.',
    ].join('\n');
    const error = classifySshFailure(255, stderr, ctx);
    assert.equal(error?.code, 'SSH_HOST_KEY_CHANGED');
    assert.match(error.hint, /ssh-keygen -f "\/tmp\/kh" -R "\[127\.0\.0\.1\]:41849"/);
  });

  it('changed host key without ssh\'s suggestion builds the ssh-keygen line itself', () => {
    const error = classifySshFailure(255, 'WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\n', { ...ctx, knownHostsFile: '/k h' });
    assert.match(error!.hint, /ssh-keygen -f "\/k h" -R "\[10\.0\.0\.5\]:2222"/);
  });

  it('unknown host key under strict checking -> SSH_HOST_KEY_UNKNOWN', () => {
    const stderr = 'No ED25519 host key is known for [127.0.0.1]:41849 and you have requested strict checking.\nHost key verification failed.\n';
    const error = classifySshFailure(255, stderr, ctx);
    assert.equal(error?.code, 'SSH_HOST_KEY_UNKNOWN');
    assert.match(error.hint, /ssh -p 2222 gpu-box true/);
  });

  it('timeouts -> SSH_TIMEOUT naming remote.connect_timeout', () => {
    for (const line of ['ssh: connect to host 10.0.0.5 port 22: Connection timed out', 'Connection timed out during banner exchange', 'ssh: connect to host h port 22: Operation timed out']) {
      const error = classifySshFailure(255, `${line}\n`, ctx);
      assert.equal(error?.code, 'SSH_TIMEOUT', line);
      assert.match(error.message, /within 10 s/);
      assert.match(error.hint, /remote\.connect_timeout/);
    }
  });

  it('leaves the remote command\'s own failures alone', () => {
    assert.equal(classifySshFailure(1, 'ssh: connect to host h port 22: Connection refused', ctx), undefined);
    assert.equal(classifySshFailure(255, 'boom\n', ctx), undefined); // `exit 255` on the host
    assert.equal(classifySshFailure(255, '', ctx), undefined);
  });
});
