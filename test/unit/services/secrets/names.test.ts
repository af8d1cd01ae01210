import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { assertSecretName, isValidSecretName } from '../../../../src/services/secrets/names.ts';

describe('secret names', () => {
  it('accepts letters, digits, _ - . starting with a letter or digit', () => {
    for (const name of ['a', 'wandb_api_key', 'HF-TOKEN', 'aws.prod.key', '9lives', 'x'.repeat(128)]) {
      assert.ok(isValidSecretName(name), name);
    }
  });

  it('refuses everything else', () => {
    for (const name of ['', ' a', 'a b', '__index__', '_x', '-x', '.x', 'a/b', '../x', 'a:b', '${x}', 'é', 'x'.repeat(129), 'a\n']) {
      assert.ok(!isValidSecretName(name), JSON.stringify(name));
    }
  });

  it('throws SECRET_NAME_INVALID (exit 2) with a hint', () => {
    assert.throws(() => assertSecretName('a b'), (error: unknown) =>
      error instanceof UserError && error.code === 'SECRET_NAME_INVALID' && error.exitCode === 2 && error.hint.length > 0);
  });
});
