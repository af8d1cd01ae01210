import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { controlDirCandidates, controlSocketName, ensurePrivateDir, fitsSocketPath } from '../../../../src/services/ssh/control-path.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-cp-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('control path', () => {
  it('socket names are short, hex and stable', () => {
    assert.match(controlSocketName(['h', 'u', 22]), /^[0-9a-f]{16}$/);
    assert.equal(controlSocketName(['h', 'u', 22]), controlSocketName(['h', 'u', 22]));
    assert.notEqual(controlSocketName(['h', 'u', 22]), controlSocketName(['h', 'u', 23]));
  });

  it('candidates: XDG_RUNTIME_DIR first, then the state dir, then /tmp', () => {
    const list = controlDirCandidates({ XDG_RUNTIME_DIR: '/run/user/1' }, '/s');
    assert.equal(list[0], '/run/user/1/mltoolbox/ssh');
    assert.equal(list[1], '/s/ssh');
    assert.deepEqual(controlDirCandidates({}, '/s')[0], '/s/ssh');
  });

  it('rejects folders that would overflow sun_path', () => {
    assert.ok(fitsSocketPath('/run/user/1000/mltoolbox/ssh'));
    assert.ok(!fitsSocketPath(`/home/${'x'.repeat(80)}`));
  });

  it('creates a 0700 folder and skips a symlink', () => {
    const real = join(root, 'real');
    mkdirSync(real);
    const link = join(root, 'link');
    symlinkSync(real, link);
    const chosen = ensurePrivateDir([link, join(root, 'private')]);
    assert.equal(chosen, join(root, 'private'));
    assert.equal(statSync(chosen).mode & 0o777, 0o700);
  });

  it('undefined when nothing qualifies', () => {
    assert.equal(ensurePrivateDir([`/${'y'.repeat(100)}`]), undefined);
  });
});
