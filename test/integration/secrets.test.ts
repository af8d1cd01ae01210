import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, type RunResult } from '../harness/index.ts';
import { startKeyring, type Keyring } from '../harness/keyring.ts';

const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));

/**
 * Runs the binary like runMltoolbox, and meanwhile reads every process's
 * command line (/proc/<pid>/cmdline) until it exits, so a value passed to
 * any child process — or to mltoolbox itself — would be caught.
 */
async function runWatchingArgv(args: readonly string[], env: NodeJS.ProcessEnv, input: string, needle: string): Promise<RunResult & { seenInArgv: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let done = false;
  void closed.then(() => (done = true));
  const seenInArgv: string[] = [];
  const scan = async () => {
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(needle)) seenInArgv.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
    }
  };
  await scan(); // the child exists now, before it read its stdin
  child.stdin.end(input);
  while (!done) {
    await scan();
    await new Promise((r) => setTimeout(r, 5));
  }
  return { ...(await closed), stdout, stderr, seenInArgv };
}

describe('secrets: OS keychain (real gnome-keyring on a private D-Bus session)', () => {
  let keyring: Keyring;
  before(async () => {
    keyring = await startKeyring();
  });
  after(() => keyring?.stop());

  it('auto-selects the keychain, and set/list/get/rm work with the value only on stdin/stdout', async () => {
    const sandbox = await createSandbox({ env: keyring.env });
    const value = `hf_${Math.random().toString(36).slice(2)}_keychain`;
    const set = await runWatchingArgv(['secret', 'set', 'hf_token', '--verbose'], sandbox.env, `${value}\n`, value);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /using the OS keychain/);
    assert.deepEqual(set.seenInArgv, [], 'the value appeared in a command line');
    assert.ok(!set.stderr.includes(value) && !set.stdout.includes(value));

    // The value is really in the Secret Service (one trailing newline stripped), not in a file.
    const lookup = await keyring.secretTool(['lookup', 'service', 'mltoolbox', 'username', 'hf_token']);
    assert.equal(lookup.stdout, value);
    await assert.rejects(stat(join(sandbox.env.XDG_STATE_HOME!, 'mltoolbox', 'secrets.enc')));

    await runMltoolbox(['secret', 'set', 'wandb_api_key'], { env: sandbox.env, input: 'w-1' });
    const list = await runMltoolbox(['secret', 'list', '--json'], { env: sandbox.env });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).result, { backend: 'keychain', names: ['hf_token', 'wandb_api_key'] });
    assert.ok(!list.stdout.includes(value));

    const get = await runWatchingArgv(['secret', 'get', 'hf_token'], sandbox.env, '', value);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, `${value}\n`);
    assert.deepEqual(get.seenInArgv, []);

    const rm = await runMltoolbox(['secret', 'rm', 'hf_token'], { env: sandbox.env });
    assert.equal(rm.code, 0, rm.stderr);
    const gone = await runMltoolbox(['secret', 'get', 'hf_token', '--json'], { env: sandbox.env });
    assert.equal(gone.code, 1);
    assert.equal(JSON.parse(gone.stdout).error.code, 'SECRET_NOT_FOUND');
    assert.equal((await keyring.secretTool(['lookup', 'service', 'mltoolbox', 'username', 'hf_token'])).stdout, '');
    const after = await runMltoolbox(['secret', 'list'], { env: sandbox.env });
    assert.equal(after.stdout, 'wandb_api_key\n');
  });

  it('MLTOOLBOX_SECRET_STORE=keychain without a Secret Service fails with SECRET_STORE_UNAVAILABLE', async () => {
    const sandbox = await createSandbox({ env: { MLTOOLBOX_SECRET_STORE: 'keychain', DBUS_SESSION_BUS_ADDRESS: `unix:path=${join('/nonexistent', 'bus')}` } });
    const result = await runMltoolbox(['secret', 'list', '--json'], { env: sandbox.env });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(JSON.parse(result.stdout).error.code, 'SECRET_STORE_UNAVAILABLE');
  });
});

describe('secrets: encrypted file', () => {
  const value = 'sk-file-backend-plaintext-4242';

  it('stores encrypted, mode 0600, with a backup, and refuses a wrong passphrase', async () => {
    const sandbox = await createSandbox({ env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'pass-one' } });
    const file = join(sandbox.env.XDG_STATE_HOME!, 'mltoolbox', 'secrets.enc');
    const set = await runWatchingArgv(['secret', 'set', 'openai', '-v'], sandbox.env, `${value}\n`, value);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(set.seenInArgv, []);
    assert.match(set.stderr, /using the encrypted file/);
    assert.ok(!set.stderr.includes(value));

    const onDisk = await readFile(file, 'utf8');
    assert.ok(!onDisk.includes(value), 'plaintext value on disk');
    assert.ok(!onDisk.includes('openai'), 'plaintext name on disk');
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    assert.equal((await runMltoolbox(['secret', 'set', 'openai'], { env: sandbox.env, input: 'v2' })).code, 0);
    assert.equal((await stat(`${file}.bak`)).mode & 0o777, 0o600);
    const get = await runMltoolbox(['secret', 'get', 'openai'], { env: sandbox.env });
    assert.equal(get.stdout, 'v2\n');
    const list = await runMltoolbox(['secret', 'list', '--json'], { env: sandbox.env });
    assert.deepEqual(JSON.parse(list.stdout).result, { backend: 'file', names: ['openai'] });

    const wrong = await runMltoolbox(['secret', 'get', 'openai'], { env: { ...sandbox.env, MLTOOLBOX_SECRET_PASSPHRASE: 'pass-two' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /SECRET_PASSPHRASE_WRONG/);
    assert.equal(wrong.stdout, '');

    const none = await runMltoolbox(['secret', 'list', '--json'], { env: { ...sandbox.env, MLTOOLBOX_SECRET_PASSPHRASE: '' } });
    assert.equal(none.code, 1);
    assert.equal(JSON.parse(none.stdout).error.code, 'SECRET_PASSPHRASE_REQUIRED');
    assert.equal(await readFile(file, 'utf8').then((t) => t.length > 0), true);
  });

  it('auto without a D-Bus session uses the file store', async () => {
    const sandbox = await createSandbox({ env: { MLTOOLBOX_SECRET_PASSPHRASE: 'p' } });
    const result = await runMltoolbox(['secret', 'list', '--verbose'], { env: sandbox.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /encrypted file .*DBUS_SESSION_BUS_ADDRESS/);
  });

  it('a corrupt file gives SECRET_STORE_CORRUPT and is left as it was', async () => {
    const sandbox = await createSandbox({ env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'p' } });
    assert.equal((await runMltoolbox(['secret', 'set', 'a'], { env: sandbox.env, input: 'one' })).code, 0);
    const file = join(sandbox.env.XDG_STATE_HOME!, 'mltoolbox', 'secrets.enc');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, '{"format":"mltoolbox-secrets"');
    const result = await runMltoolbox(['secret', 'set', 'b', '--json'], { env: sandbox.env, input: 'two' });
    assert.equal(result.code, 1);
    assert.equal(JSON.parse(result.stdout).error.code, 'SECRET_STORE_CORRUPT');
    assert.equal(await readFile(file, 'utf8'), '{"format":"mltoolbox-secrets"');
  });

  it('rejects bad names (exit 2) and empty values before storing anything', async () => {
    const sandbox = await createSandbox({ env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'p' } });
    const bad = await runMltoolbox(['secret', 'set', 'bad/name'], { env: sandbox.env, input: 'x' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /SECRET_NAME_INVALID/);
    const empty = await runMltoolbox(['secret', 'set', 'ok', '--json'], { env: sandbox.env, input: '\n' });
    assert.equal(empty.code, 1);
    assert.equal(JSON.parse(empty.stdout).error.code, 'SECRET_VALUE_EMPTY');
  });
});
