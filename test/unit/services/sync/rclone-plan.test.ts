import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFilterRules, resolveRules } from '../../../../src/services/sync/filters.ts';
import { plannedDeletions, walkProject, type RemoteEntry } from '../../../../src/services/sync/rclone-plan.ts';
import { endpointFrom, knownHostsFor, parseSshG, passphraseProtected } from '../../../../src/services/sync/sftp-endpoint.ts';

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'mlt-rclone-plan-'));
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(join(root, '.git'));
  writeFileSync(join(root, 'src', 'a.py'), '');
  writeFileSync(join(root, 'x.log'), '');
  writeFileSync(join(root, '.git', 'HEAD'), '');
  writeFileSync(join(root, '.gitignore'), 'cache/\n');
  symlinkSync('src', join(root, 'link'));
  return root;
}

describe('rclone push plan (the rules rsync uses)', () => {
  const filtersFor = (root: string) => buildFilterRules(resolveRules({ exclude: ['*.log'] }), undefined);

  it('copies regular files that are not excluded, ignored or .git; lists links as skipped', () => {
    const root = project();
    const tree = walkProject(root, filtersFor(root));
    assert.deepEqual([...tree.files].sort(), ['.gitignore', 'src/a.py']);
    assert.deepEqual(tree.skipped, ['link']);
  });

  it('deletes on the host only what is gone locally and not protected, excluded or ignored', () => {
    const root = project();
    const filters = filtersFor(root);
    const remote: RemoteEntry[] = [
      { Path: 'src', IsDir: true, Size: 0 }, { Path: 'src/a.py', IsDir: false, Size: 1 }, { Path: 'src/old.py', IsDir: false, Size: 1 },
      { Path: 'outputs', IsDir: true, Size: 0 }, { Path: 'outputs/m.txt', IsDir: false, Size: 1 }, { Path: 'checkpoints', IsDir: true, Size: 0 },
      { Path: 'host.log', IsDir: false, Size: 1 }, { Path: 'cache', IsDir: true, Size: 0 }, { Path: 'cache/blob', IsDir: false, Size: 1 },
      { Path: 'gone', IsDir: true, Size: 0 }, { Path: 'gone/deep', IsDir: true, Size: 0 }, { Path: 'gone/deep/f', IsDir: false, Size: 1 },
      { Path: 'link', IsDir: false, Size: 1 }, { Path: 'odd\nname', IsDir: false, Size: 1 },
    ];
    const plan = plannedDeletions(root, filters, walkProject(root, filters), remote);
    assert.deepEqual(plan.files, ['gone/deep/f', 'src/old.py']);
    assert.deepEqual(plan.folders, ['gone'], 'only the topmost folder that empties; an empty protected folder stays');
    assert.deepEqual(plan.unlisted, ['odd\nname']);
  });
});

describe('the sftp endpoint from ssh -G', () => {
  it('takes host, port, user, the first existing key and every known_hosts file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-sftp-'));
    writeFileSync(join(dir, 'kh'), '[10.0.0.5]:2222 ssh-ed25519 AAAA\n');
    writeFileSync(join(dir, 'id'), 'key');
    const values = parseSshG(['hostname 10.0.0.5', 'port 2222', 'user me', `identityfile ${join(dir, 'missing')}`, `identityfile ${join(dir, 'id')}`,
      `userknownhostsfile ${join(dir, 'kh')} ${join(dir, 'nope')}`, 'globalknownhostsfile /nonexistent', 'proxycommand none'].join('\n'));
    const endpoint = endpointFrom(values, 'gpu', dir);
    assert.deepEqual(endpoint, { host: '10.0.0.5', port: 2222, user: 'me', keyFile: join(dir, 'id'), knownHosts: '[10.0.0.5]:2222 ssh-ed25519 AAAA\n' });
  });

  it('refuses a proxied host (rclone cannot go through it)', () => {
    assert.throws(() => endpointFrom(parseSshG('hostname h\nproxyjump bastion\n'), 'gpu', '/tmp'), /SYNC_RCLONE_UNSUPPORTED|through a proxy/);
  });

  it('a HostKeyAlias entry is renamed to the address rclone dials; other lines and hashed entries stay', () => {
    const text = ['inst-1 ssh-ed25519 KEY1', '@cert-authority inst-1,other ssh-rsa CA', '|1|hash= ssh-ed25519 KEY2', 'other ssh-ed25519 KEY3'].join('\n');
    assert.deepEqual(knownHostsFor(text, 'inst-1', '[1.2.3.4]:22022').split('\n'), [
      '[1.2.3.4]:22022 ssh-ed25519 KEY1', '@cert-authority [1.2.3.4]:22022 ssh-rsa CA', '|1|hash= ssh-ed25519 KEY2', 'other ssh-ed25519 KEY3',
    ]);
  });
});

describe('identity files rclone can use', () => {
  const opensshKey = (cipher: string) => {
    const magic = Buffer.from('openssh-key-v1\0', 'latin1');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(cipher.length);
    const body = Buffer.concat([magic, length, Buffer.from(cipher, 'latin1'), Buffer.alloc(40, 7)]).toString('base64').replace(/(.{70})/g, '$1\n');
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`;
  };

  it('a passphrase-protected key is left to the ssh agent (rclone fails on it even when the agent holds it); the next plain key is used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-sftp-keys-'));
    writeFileSync(join(dir, 'id_enc'), opensshKey('aes256-ctr'));
    writeFileSync(join(dir, 'id_pem'), '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n');
    writeFileSync(join(dir, 'id_plain'), opensshKey('none'));
    const only = (...files: string[]) => endpointFrom(parseSshG(['hostname h', ...files.map((f) => `identityfile ${join(dir, f)}`)].join('\n')), 'gpu', dir).keyFile;
    assert.equal(only('id_enc'), undefined, 'the agent');
    assert.equal(only('id_pem'), undefined, 'the agent');
    assert.equal(only('id_enc', 'id_pem', 'id_plain'), join(dir, 'id_plain'));
    assert.equal(passphraseProtected(join(dir, 'id_plain')), false);
  });
});
