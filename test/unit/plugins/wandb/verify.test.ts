import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWandbVerify, wandbVerifyCommand } from '../../../../src/plugins/wandb/verify.ts';

describe('wandb verify', () => {
  it('the command reads the key from the environment, never argv', () => {
    const argv = wandbVerifyCommand();
    assert.equal(argv[0], 'sh');
    assert.ok(argv.at(-1)!.includes('os.environ["WANDB_API_KEY"]'));
    assert.ok(!argv.join(' ').includes('login'));
  });

  it('parses ok, not installed, no python and failures', () => {
    assert.deepEqual(parseWandbVerify('noise\nMLT_WANDB ok alice\n', 0, 'not-in-output-0123456789'), { status: 'ok', user: 'alice' });
    assert.deepEqual(parseWandbVerify('MLT_WANDB not-installed\n', 0, 'not-in-output-0123456789'), { status: 'not-installed' });
    assert.deepEqual(parseWandbVerify('MLT_WANDB no-python\n', 0, 'not-in-output-0123456789'), { status: 'no-python' });
    assert.deepEqual(parseWandbVerify('MLT_WANDB failed CommError: invalid api key\n', 0, 'not-in-output-0123456789'), { status: 'failed', message: 'CommError: invalid api key' });
  });

  it('scrubs the key from any message', () => {
    const key = 'abcdef0123456789abcdef0123456789abcdef01';
    const result = parseWandbVerify(`MLT_WANDB failed ValueError: bad key ${key}\n`, 0, key);
    assert.deepEqual(result, { status: 'failed', message: 'ValueError: bad key ***' });
    const raw = parseWandbVerify(`Traceback: ${key}`, 1, key);
    assert.equal(raw.status, 'failed');
    assert.ok(!JSON.stringify(raw).includes(key));
  });
});
