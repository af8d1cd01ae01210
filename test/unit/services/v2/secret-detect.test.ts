import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSecretName, looksLikeSecretValue, secretReason } from '../../../../src/services/v2/secret-detect.ts';

describe('secret detection', () => {
  it('by name', () => {
    for (const name of ['WANDB_API_KEY', 'GITHUB_TOKEN', 'HF_TOKEN', 'DB_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'OPENAI_KEY', 'SLACK_WEBHOOK_URL', 'SMTP_PASS']) {
      assert.equal(secretReason(name, 'x'), 'name', name);
    }
  });

  it('names that point at a secret are not secrets', () => {
    for (const name of ['SSH_KEY_NAME', 'TOKEN_FILE', 'PASSWORD_PATH', 'KEY_DIR', 'PWD', 'LOG_LEVEL', 'GIT_NAME', 'HOST_RAY_CLIENT_PORT', 'KEYBOARD']) {
      assert.equal(secretReason(name, 'id_ed25519'), undefined, name);
    }
  });

  it('by value shape, whatever the name', () => {
    for (const value of [
      'ghp_FakeToken0123456789abcdefghijklmnopqr',
      'hf_abcdefghijklmnopqrstuvwxyzABCDEFGH',
      'sk-proj-abcdefghijklmnopqrstuvwx',
      'f00dfacefeedbeef0123456789abcdef01234567',
      'AKIAABCDEFGHIJKLMNOP',
      'postgres://user:hunter2@db.example.com/x',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop',
      'Zx81kQp0Lm2Vn7Rt5Yw3Hs6Jd9Fg4Bc1Ae8Xu0Iq',
    ]) {
      assert.equal(secretReason('SOMETHING', value), 'value', value);
    }
  });

  it('ordinary values are not secrets', () => {
    for (const value of ['/workspace/vision-transformers/.cache/huggingface', 'ada@example.com', '3.12', 'cuda', 'INFO', 'vision-transformers', 'https://example.com/a/b', 'id_ed25519', 'a sentence with several words in it that is long']) {
      assert.equal(looksLikeSecretValue(value), false, value);
    }
    assert.equal(secretReason('WANDB_API_KEY', ''), undefined, 'an empty value has nothing to hide');
  });

  it('default store names', () => {
    assert.equal(defaultSecretName('WANDB_API_KEY'), 'wandb_api_key');
    assert.equal(defaultSecretName('_X'), 'x');
  });
});
