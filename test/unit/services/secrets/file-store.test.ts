import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createFileSecretStore, type PassphraseRequest } from '../../../../src/services/secrets/file-store.ts';

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlt-secrets-'));
  dirs.push(dir);
  return join(dir, 'state', 'secrets.enc');
}

function store(file: string, passphrase = 'correct horse', asked: PassphraseRequest[] = []) {
  return createFileSecretStore({ file, kdf: FAST, passphrase: async (request) => (asked.push(request), passphrase) });
}

function hasCode(code: string) {
  return (error: unknown) => error instanceof UserError && error.code === code;
}

describe('file secret store', () => {
  it('round-trips values, lists names only, removes', async () => {
    const file = await tempFile();
    const a = store(file);
    await a.set('wandb_api_key', 'w-123');
    await a.set('hf.token', 'hf_ünïcødé \n with newline');
    const b = store(file); // a fresh process, same passphrase
    assert.equal(await b.get('wandb_api_key'), 'w-123');
    assert.equal(await b.get('hf.token'), 'hf_ünïcødé \n with newline');
    assert.equal(await b.get('missing'), undefined);
    assert.deepEqual(await b.list(), ['hf.token', 'wandb_api_key']);
    assert.equal(await b.remove('hf.token'), true);
    assert.equal(await b.remove('hf.token'), false);
    assert.deepEqual(await store(file).list(), ['wandb_api_key']);
  });

  it('reads nothing and asks nothing when no file exists', async () => {
    const file = await tempFile();
    const asked: PassphraseRequest[] = [];
    const s = store(file, 'x', asked);
    assert.deepEqual(await s.list(), []);
    assert.equal(await s.get('a'), undefined);
    assert.equal(asked.length, 0);
    await s.set('a', '1');
    assert.deepEqual(asked.map((r) => r.creating), [true]);
    await s.set('b', '2');
    assert.equal(asked.length, 1, 'the passphrase is asked once per process');
  });

  it('keeps no plaintext on disk, mode 0600, fresh salt and IV per write', async () => {
    const file = await tempFile();
    const s = store(file);
    await s.set('token', 'super-secret-value');
    const first = JSON.parse(await readFile(file, 'utf8'));
    await s.set('token', 'super-secret-value');
    const second = JSON.parse(await readFile(file, 'utf8'));
    for (const text of [await readFile(file, 'utf8'), await readFile(`${file}.bak`, 'utf8')]) {
      assert.ok(!text.includes('super-secret-value'));
      assert.ok(!text.includes('token'), 'names are encrypted too');
    }
    assert.notEqual(first.kdf.salt, second.kdf.salt);
    assert.notEqual(first.iv, second.iv);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(`${file}.bak`)).mode & 0o777, 0o600);
  });

  it('keeps the previous version as .bak', async () => {
    const file = await tempFile();
    await store(file).set('a', 'one');
    await store(file).set('a', 'two');
    const backup = store(`${file}.bak`);
    assert.equal(await backup.get('a'), 'one');
    assert.equal(await store(file).get('a'), 'two');
  });

  it('a wrong passphrase is SECRET_PASSPHRASE_WRONG and changes nothing', async () => {
    const file = await tempFile();
    await store(file).set('a', 'one');
    const before = await readFile(file, 'utf8');
    await assert.rejects(store(file, 'wrong').get('a'), hasCode('SECRET_PASSPHRASE_WRONG'));
    await assert.rejects(store(file, 'wrong').set('b', 'two'), hasCode('SECRET_PASSPHRASE_WRONG'));
    assert.equal(await readFile(file, 'utf8'), before);
  });

  for (const [what, damage] of [
    ['not JSON', () => 'garbage{'],
    ['a flipped ciphertext byte', (e: Record<string, string>) => JSON.stringify({ ...e, data: flip(e.data!) })],
    ['an edited header', (e: Record<string, unknown>) => JSON.stringify({ ...e, cipher: 'aes-128-cbc' })],
    ['a truncated file', (_e: unknown, raw: string) => raw.slice(0, raw.length / 2)],
  ] as const) {
    it(`a corrupt file (${what}) is SECRET_STORE_CORRUPT and left untouched`, async () => {
      const file = await tempFile();
      await store(file).set('a', 'one');
      const raw = await readFile(file, 'utf8');
      const damaged = (damage as (e: Record<string, string>, raw: string) => string)(JSON.parse(raw), raw);
      await writeFile(file, damaged);
      await assert.rejects(store(file).get('a'), hasCode('SECRET_STORE_CORRUPT'));
      await assert.rejects(store(file).set('b', 'two'), hasCode('SECRET_STORE_CORRUPT'));
      await assert.rejects(store(file).remove('a'), hasCode('SECRET_STORE_CORRUPT'));
      assert.equal(await readFile(file, 'utf8'), damaged);
    });
  }

  it('validates names and refuses empty values', async () => {
    const s = store(await tempFile());
    await assert.rejects(s.set('bad name', 'x'), hasCode('SECRET_NAME_INVALID'));
    await assert.rejects(s.get('../etc'), hasCode('SECRET_NAME_INVALID'));
    await assert.rejects(s.set('ok', ''), hasCode('SECRET_VALUE_EMPTY'));
  });

  it('concurrent writers (same and separate store objects) lose nothing', async () => {
    const file = await tempFile();
    const shared = store(file);
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => shared.set(`same${i}`, `v${i}`)),
      ...Array.from({ length: 5 }, (_, i) => store(file).set(`other${i}`, `w${i}`)),
    ]);
    const names = await store(file).list();
    assert.equal(names.length, 10, names.join(','));
    assert.equal(await store(file).get('other3'), 'w3');
    assert.deepEqual((await readdir(dirname(file))).sort(), ['secrets.enc', 'secrets.enc.bak'], 'no temp or lock file left behind');
  });

  it('an empty passphrase is refused', async () => {
    await assert.rejects(store(await tempFile(), '').set('a', '1'), hasCode('SECRET_PASSPHRASE_REQUIRED'));
  });
});

function flip(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0]! ^= 0xff;
  return bytes.toString('base64');
}

describe('file secret store: the corrupt-file hint', () => {
  it('names the .bak only when it exists', async () => {
    const file = await tempFile();
    await store(file).set('a', 'one'); // a single set: no .bak yet
    await writeFile(file, 'garbage');
    const first = await store(file).get('a').then(() => undefined, (e: unknown) => e as UserError);
    assert.equal(first?.code, 'SECRET_STORE_CORRUPT');
    assert.doesNotMatch(first!.hint, /cp .*\.bak/);
    assert.match(first!.hint, /no earlier version/);
    await rm(file);
    await store(file).set('a', 'one');
    await store(file).set('b', 'two'); // now a .bak holds the first version
    await writeFile(file, 'garbage');
    const second = await store(file).get('a').then(() => undefined, (e: unknown) => e as UserError);
    assert.match(second!.hint, /cp .*secrets\.enc\.bak /);
  });
});
