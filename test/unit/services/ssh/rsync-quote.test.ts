import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runProcess } from '../../../../src/infrastructure/process.ts';
import { quoteRsyncArg } from '../../../../src/services/ssh/rsync-quote.ts';

describe('quoteRsyncArg', () => {
  it('leaves plain words alone', () => {
    assert.equal(quoteRsyncArg('-o'), '-o');
    assert.equal(quoteRsyncArg('ControlPath=/run/user/1000/mltoolbox/ssh/ab12'), 'ControlPath=/run/user/1000/mltoolbox/ssh/ab12');
  });

  it('real rsync splits the quoted -e string back into the same words', async (t) => {
    const which = await runProcess('sh', ['-c', 'command -v rsync']);
    if (which.code !== 0) return t.skip('rsync is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'mlt-rsync-quote-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const fakeSsh = join(dir, 'fake ssh');
    const out = join(dir, 'argv.json');
    writeFileSync(fakeSsh, `#!/bin/sh\n${JSON.stringify(process.execPath)} -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))' ${JSON.stringify(out)} "$@"\nexit 1\n`);
    chmodSync(fakeSsh, 0o755);
    const words = ['-i', "/keys/it's my key", '-o', 'ControlPath=/a b/"c"', '-o', 'X=$(id);`id`', ''];
    const shell = [fakeSsh, ...words].map(quoteRsyncArg).join(' ');
    await runProcess('rsync', ['-e', shell, join(dir, 'argv.json'), 'somehost:/tmp/x'], { timeoutMs: 10_000 });
    const argv = JSON.parse(readFileSync(out, 'utf8')) as string[];
    assert.deepEqual(argv.slice(0, words.length), words);
  });
});
