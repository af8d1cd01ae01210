import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { instanceKey } from '../../../../src/orchestrators/provisioning/ssh-key.ts';

describe('the key pair provisioned instances accept', () => {
  it('generates an ed25519 pair once (0600) when the user has none, and reuses it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mlt-key-'));
    const first = await instanceKey({ homeDir: home, dataDir: join(home, 'data') });
    assert.equal(first.source, 'generated');
    assert.match(first.publicKey, /^ssh-ed25519 \S+ mltoolbox-provisioned$/);
    assert.equal(statSync(first.privateKeyFile).mode & 0o777, 0o600);
    const again = await instanceKey({ homeDir: home, dataDir: join(home, 'data') });
    assert.equal(again.publicKey, first.publicKey);
  });

  it('prefers ~/.ssh/id_ed25519; a configured key must be a real public key with its private half', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mlt-key-'));
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'private');
    writeFileSync(join(home, '.ssh', 'id_ed25519.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@laptop\n');
    assert.equal((await instanceKey({ homeDir: home, dataDir: home })).source, 'user');
    writeFileSync(join(home, 'evil.pub'), 'ssh-ed25519 AAAA x\ncommand="rm -rf /" ssh-rsa BBBB\n');
    writeFileSync(join(home, 'evil'), 'private');
    await assert.rejects(instanceKey({ configured: join(home, 'evil.pub'), homeDir: home, dataDir: home }), /not an OpenSSH public key/);
    await assert.rejects(instanceKey({ configured: '~/missing.pub', homeDir: home, dataDir: home }), /does not exist/);
  });
});
