import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { joinShellCommand, quoteShellArg } from '../../../src/core/shell-quote.ts';

describe('quoteShellArg', () => {
  const nasty = ['plain', '', 'with space', "it's", '$(touch /tmp/pwned)', '`id`', 'a"b', 'new\nline', '*', '~', '-n', 'é ü', "'", "''"];
  it('round-trips every argument through a real POSIX shell, executing nothing', () => {
    const script = `printf '%s\\0' ${joinShellCommand(nasty)}`;
    const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    assert.deepEqual(out.split('\0').slice(0, -1), nasty);
  });
  it('leaves safe words bare for readable logs', () => {
    assert.equal(quoteShellArg('/srv/project-1/a.py'), '/srv/project-1/a.py');
    assert.equal(quoteShellArg("it's"), `'it'\\''s'`);
  });
});
