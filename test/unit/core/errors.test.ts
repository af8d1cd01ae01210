import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCodes, ExitCode, UserError } from '../../../src/core/errors.ts';

const DOC = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('errors', () => {
  it('every error code is documented in docs/errors.md', () => {
    const missing = Object.keys(ErrorCodes).filter((code) => !DOC.includes(`\`${code}\``));
    assert.deepEqual(missing, [], 'document these codes in docs/errors.md');
  });
  it('every exit code is documented', () => {
    for (const [name, value] of Object.entries(ExitCode)) assert.match(DOC, new RegExp(`\\| ${value} \\|`), `exit code ${name}=${value}`);
  });
  it('a user error takes its exit code from the registry', () => {
    const error = new UserError('CONFIG_INVALID', 'bad', 'fix it');
    assert.equal(error.exitCode, ExitCode.config);
    assert.equal(error.hint, 'fix it');
  });
});
