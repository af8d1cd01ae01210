import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RemoteRecord } from '../../../../src/db/index.ts';
import {
  ensureInclude, hasInclude, includeLine, renderGeneratedConfig, withIncludeFirst, writeGeneratedConfig,
} from '../../../../src/orchestrators/connection/ssh-include.ts';

const remote = (alias: string, host: string, extra: Partial<RemoteRecord> = {}): RemoteRecord => ({
  alias, host, user: null, port: null, identityFile: null, createdAt: '2024-01-01T00:00:00.000Z', lastUsedAt: null, ...extra,
});

const USER_CONFIG = [
  '# my hosts',
  'Host work',
  '  HostName work.example.com',
  '  User me',
  '',
  'Host *',
  '  ServerAliveInterval 30',
  '',
].join('\n');

describe('ssh config Include', () => {
  let root: string;
  let home: string;
  let generated: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'mlt-ssh-include-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const fresh = async (name: string) => {
    home = join(root, name);
    await mkdir(home, { recursive: true });
    generated = join(home, '.config', 'mltoolbox', 'ssh_config');
  };

  it('renders one Host block per remote, quoting what has spaces', () => {
    const text = renderGeneratedConfig([
      remote('lab', '10.0.0.5', { user: 'alice', port: 2222, identityFile: '/home/a/my keys/id' }),
      remote('gpu', 'gpu.example.com'),
      remote('same', 'same'),
      remote('via', 'jumpbox'),
    ], new Set(['jumpbox']));
    assert.match(text, /^# Written by mltoolbox/);
    assert.match(text, /Host lab\n {2}HostName 10\.0\.0\.5\n {2}User alice\n {2}Port 2222\n {2}IdentityFile "\/home\/a\/my keys\/id"\n {2}IdentitiesOnly yes\n/);
    assert.match(text, /Host gpu\n {2}HostName gpu\.example\.com\n/);
    assert.doesNotMatch(text, /Host same/);
    assert.doesNotMatch(text, /Host via/, 'HostName cannot name another ssh alias');
    assert.ok(text.indexOf('Host gpu') < text.indexOf('Host lab'), 'sorted by alias');
    assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'));
  });

  it('an IPv6 host that starts with a colon (::1) gets its Host block, not a "left out" comment', () => {
    const text = renderGeneratedConfig([remote('v6', '::1', { port: 2222 }), remote('v6b', '::ffff:10.0.0.5')]);
    assert.match(text, /^Host v6\n {2}HostName ::1\n {2}Port 2222$/m);
    assert.match(text, /^Host v6b\n {2}HostName ::ffff:10\.0\.0\.5$/m);
    assert.doesNotMatch(text, /left out/);
  });

  it('writes the generated file 0600 in a 0700 folder', async () => {
    await fresh('gen');
    await writeGeneratedConfig(generated, [remote('gpu', 'gpu.example.com')]);
    assert.equal((await stat(generated)).mode & 0o777, 0o600);
    assert.equal((await stat(join(home, '.config', 'mltoolbox'))).mode & 0o777, 0o700);
  });

  it('names the file with ~ under home, absolute elsewhere, quoted with spaces', () => {
    assert.equal(includeLine('/home/a/.config/mltoolbox/ssh_config', '/home/a'), 'Include ~/.config/mltoolbox/ssh_config');
    assert.equal(includeLine('/etc/x/ssh_config', '/home/a'), 'Include /etc/x/ssh_config');
    assert.equal(includeLine('/home/a b/.config/m/ssh_config', '/home/a b'), 'Include ~/.config/m/ssh_config');
    assert.equal(includeLine('/srv/my conf/ssh_config', '/home/a'), 'Include "/srv/my conf/ssh_config"');
  });

  it('finds an existing Include in either form, any case, among several files', () => {
    const file = '/home/a/.config/mltoolbox/ssh_config';
    assert.ok(hasInclude('include ~/.config/mltoolbox/ssh_config\n', file, '/home/a'));
    assert.ok(hasInclude('Host x\n  Include /etc/other "/home/a/.config/mltoolbox/ssh_config"\n', file, '/home/a'));
    assert.ok(!hasInclude('# Include ~/.config/mltoolbox/ssh_config\n', file, '/home/a'));
    assert.ok(!hasInclude('Include ~/.config/mltoolbox/ssh_config.old\n', file, '/home/a'));
  });

  it('puts the line first and keeps every byte after it (CRLF, BOM)', () => {
    const crlf = Buffer.from('Host a\r\n  User b\r\n');
    assert.equal(withIncludeFirst(crlf, 'Include x').toString(), 'Include x\r\nHost a\r\n  User b\r\n');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Host a\n')]);
    const out = withIncludeFirst(bom, 'Include x');
    assert.deepEqual(out.subarray(0, 3), Buffer.from([0xef, 0xbb, 0xbf]));
    assert.equal(out.subarray(3).toString(), 'Include x\nHost a\n');
    const noNewline = Buffer.from('Host a');
    assert.equal(withIncludeFirst(noNewline, 'Include x').toString(), 'Include x\nHost a');
  });

  it('adds the line once to an existing config, keeps its bytes and mode, backs it up first', async () => {
    await fresh('existing');
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    const config = join(home, '.ssh', 'config');
    await writeFile(config, USER_CONFIG, { mode: 0o644 });
    const first = await ensureInclude(home, generated);
    assert.equal(first.action, 'added');
    assert.equal(first.backup, `${config}.mltoolbox.bak`);
    const text = await readFile(config, 'utf8');
    assert.equal(text, `Include ~/.config/mltoolbox/ssh_config\n${USER_CONFIG}`);
    assert.equal(await readFile(`${config}.mltoolbox.bak`, 'utf8'), USER_CONFIG);
    assert.equal((await stat(config)).mode & 0o777, 0o644, "the user's mode stays");

    const second = await ensureInclude(home, generated);
    assert.equal(second.action, 'present');
    assert.equal(await readFile(config, 'utf8'), text, 'idempotent: never twice');
  });

  it('keeps the first backup when the line is added again later', async () => {
    await fresh('rebackup');
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    const config = join(home, '.ssh', 'config');
    await writeFile(config, USER_CONFIG);
    await ensureInclude(home, generated);
    await writeFile(config, 'Host changed\n'); // the user removed our line and edited
    const again = await ensureInclude(home, generated);
    assert.equal(again.action, 'added');
    assert.equal(again.backup, undefined);
    assert.equal(await readFile(`${config}.mltoolbox.bak`, 'utf8'), USER_CONFIG);
    assert.equal(await readFile(config, 'utf8'), 'Include ~/.config/mltoolbox/ssh_config\nHost changed\n');
  });

  it('creates ~/.ssh (0700) and the config (0600) when missing', async () => {
    await fresh('missing');
    const outcome = await ensureInclude(home, generated);
    assert.equal(outcome.action, 'added');
    assert.equal(outcome.backup, undefined);
    assert.equal((await stat(join(home, '.ssh'))).mode & 0o777, 0o700);
    const config = join(home, '.ssh', 'config');
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.equal(await readFile(config, 'utf8'), 'Include ~/.config/mltoolbox/ssh_config\n');
  });

  it('follows a symlinked config (dotfiles) instead of replacing the link', async () => {
    await fresh('symlink');
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    const real = join(home, 'dotfiles-ssh-config');
    await writeFile(real, USER_CONFIG);
    await symlink(real, join(home, '.ssh', 'config'));
    const outcome = await ensureInclude(home, generated);
    assert.equal(outcome.configFile, real);
    assert.ok((await lstat(join(home, '.ssh', 'config'))).isSymbolicLink());
    assert.equal(await readFile(real, 'utf8'), `Include ~/.config/mltoolbox/ssh_config\n${USER_CONFIG}`);
  });
});
