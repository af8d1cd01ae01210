import { existsSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../infrastructure/private-file.ts';
import { assertSecretName, assertSecretValue } from './names.ts';
import type { SecretStore } from './types.ts';

/**
 * The fallback store: one file, AES-256-GCM, key from the passphrase via
 * scrypt. Every write uses a fresh salt and IV, goes to a temp file (0600)
 * and is renamed over the old one after the old one was copied to `.bak`, so
 * a crash or a full disk never loses the previous version.
 *
 * scrypt yields 64 bytes: the first 32 encrypt, the last 32 make a check
 * value. The check tells a wrong passphrase (check differs) from a damaged
 * file (check matches, GCM authentication fails) — two different fixes.
 */
export interface KdfCost {
  N: number;
  r: number;
  p: number;
}

export interface PassphraseRequest {
  /** True when no file exists yet: a prompt should ask twice. */
  creating: boolean;
  file: string;
}

export type PassphraseSource = (request: PassphraseRequest) => Promise<string>;

export interface FileSecretStoreOptions {
  file: string;
  passphrase: PassphraseSource;
  /** scrypt cost for new writes; reading uses the cost stored in the file. Tests lower it. */
  kdf?: KdfCost;
  /** How long a writer waits for another process's lock. */
  lockTimeoutMs?: number;
}

const FORMAT = 'mltoolbox-secrets' as const;
const VERSION = 1 as const;
const DEFAULT_KDF: KdfCost = { N: 2 ** 15, r: 8, p: 1 };
const CHECK_LABEL = 'mltoolbox secrets passphrase check v1';
const STALE_LOCK_MS = 30_000;

interface Envelope {
  format: typeof FORMAT;
  version: typeof VERSION;
  kdf: { name: 'scrypt'; salt: string } & KdfCost;
  cipher: 'aes-256-gcm';
  iv: string;
  check: string;
  tag: string;
  data: string;
}

type Secrets = Record<string, string>;

export function createFileSecretStore(options: FileSecretStoreOptions): SecretStore {
  const { file } = options;
  const kdf = options.kdf ?? DEFAULT_KDF;
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  let passphrase: string | undefined;
  // Serialises writers inside this process; the lock file does it across processes.
  let queue: Promise<unknown> = Promise.resolve();

  async function getPassphrase(creating: boolean): Promise<string> {
    if (passphrase !== undefined) return passphrase;
    const given = await options.passphrase({ creating, file });
    if (given.length === 0) {
      throw new UserError('SECRET_PASSPHRASE_REQUIRED', 'the passphrase is empty', 'type a passphrase, or set MLTOOLBOX_SECRET_PASSPHRASE');
    }
    return given;
  }

  let decrypted: { raw: string; secrets: Secrets } | undefined;

  async function load(): Promise<Secrets | undefined> {
    const raw = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new UserError('SECRET_STORE_UNAVAILABLE', `cannot read the secrets file ${file}: ${error.code ?? error.message}`,
        'check the file and its folder are readable by you', { cause: error });
    });
    if (raw === undefined) return undefined;
    // Every read re-reads the file (another process may have written it), but the
    // scrypt key derivation runs again only when its bytes changed.
    if (decrypted?.raw === raw) return { ...decrypted.secrets };
    const envelope = parseEnvelope(raw, file);
    const candidate = await getPassphrase(false);
    const secrets = await decrypt(envelope, candidate, file);
    passphrase = candidate; // remembered only once it proved right
    decrypted = { raw, secrets };
    return { ...secrets };
  }

  async function save(secrets: Secrets, creating: boolean): Promise<void> {
    const key = await getPassphrase(creating);
    const text = JSON.stringify(await encrypt(secrets, key, kdf));
    passphrase = key;
    await writeAtomically(file, text);
  }

  /** Asks for (and checks) the passphrase BEFORE the lock: a user typing must not hold other writers off. */
  async function unlock(): Promise<void> {
    if (passphrase !== undefined) return;
    if ((await load()) === undefined) passphrase = await getPassphrase(true);
  }

  function update(change: (secrets: Secrets) => boolean): Promise<boolean> {
    const next = queue.then(() => unlock()).then(() => withLock(file, lockTimeoutMs, async () => {
      const current = await load();
      const secrets: Secrets = { ...current };
      if (!change(secrets)) return false;
      await save(secrets, current === undefined);
      return true;
    }));
    queue = next.catch(() => undefined);
    return next;
  }

  return {
    backend: 'file',
    async get(name) {
      assertSecretName(name);
      const secrets = await load();
      return secrets && Object.hasOwn(secrets, name) ? secrets[name] : undefined;
    },
    async set(name, value) {
      assertSecretName(name);
      assertSecretValue(value);
      await update((secrets) => {
        secrets[name] = value;
        return true;
      });
    },
    async list() {
      const secrets = await load();
      return Object.keys(secrets ?? {}).sort();
    },
    async remove(name) {
      assertSecretName(name);
      return update((secrets) => {
        if (!Object.hasOwn(secrets, name)) return false;
        delete secrets[name];
        return true;
      });
    },
  };
}

function corrupt(file: string, why: string, cause?: unknown): UserError {
  // The .bak exists only after a second write: never name a file that is not there.
  const restore = existsSync(`${file}.bak`) ? `restore the previous version: cp ${file}.bak ${file} (or move the file away to start a new store)` : `there is no earlier version (${file}.bak); move the file away to start a new store: mv ${file} ${file}.broken`;
  return new UserError('SECRET_STORE_CORRUPT', `the secrets file ${file} cannot be read (${why}); it was left untouched`, restore, { cause });
}

function parseEnvelope(raw: string, file: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw corrupt(file, 'not JSON', error);
  }
  const e = value as Partial<Envelope> | null;
  const isB64 = (s: unknown): s is string => typeof s === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
  if (!e || typeof e !== 'object' || e.format !== FORMAT) throw corrupt(file, 'not an mltoolbox secrets file');
  if (e.version !== VERSION) throw corrupt(file, `unsupported version ${String(e.version)}`);
  const k = e.kdf;
  const validCost = k && k.name === 'scrypt' && isB64(k.salt) && Number.isInteger(k.N) && k.N >= 2 ** 10 && k.N <= 2 ** 20
    && (k.N & (k.N - 1)) === 0 && Number.isInteger(k.r) && k.r >= 1 && k.r <= 32 && Number.isInteger(k.p) && k.p >= 1 && k.p <= 16;
  if (!validCost || e.cipher !== 'aes-256-gcm' || !isB64(e.iv) || !isB64(e.check) || !isB64(e.tag) || !isB64(e.data)) {
    throw corrupt(file, 'damaged header');
  }
  return e as Envelope;
}

/** Binds the header to the ciphertext: editing a KDF parameter or the IV fails authentication. */
function additionalData(e: Pick<Envelope, 'format' | 'version' | 'kdf' | 'cipher' | 'iv' | 'check'>): Buffer {
  return Buffer.from([e.format, e.version, e.kdf.name, e.kdf.N, e.kdf.r, e.kdf.p, e.kdf.salt, e.cipher, e.iv, e.check].join('|'));
}

function deriveKeys(passphrase: string, salt: Buffer, cost: KdfCost): Promise<{ encryption: Buffer; check: Buffer }> {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, 64, options, (error, key) => {
      if (error) reject(error);
      else resolve({ encryption: key.subarray(0, 32), check: createHmac('sha256', key.subarray(32)).update(CHECK_LABEL).digest() });
    });
  });
}

async function encrypt(secrets: Secrets, passphrase: string, cost: KdfCost): Promise<Envelope> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const keys = await deriveKeys(passphrase, salt, cost);
  const header = {
    format: FORMAT, version: VERSION, kdf: { name: 'scrypt' as const, salt: salt.toString('base64'), ...cost },
    cipher: 'aes-256-gcm' as const, iv: iv.toString('base64'), check: keys.check.toString('base64'),
  };
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, iv);
  cipher.setAAD(additionalData(header));
  const data = Buffer.concat([cipher.update(JSON.stringify({ secrets }), 'utf8'), cipher.final()]);
  return { ...header, tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

async function decrypt(e: Envelope, passphrase: string, file: string): Promise<Secrets> {
  const keys = await deriveKeys(passphrase, Buffer.from(e.kdf.salt, 'base64'), e.kdf);
  const stored = Buffer.from(e.check, 'base64');
  if (stored.length !== keys.check.length || !timingSafeEqual(stored, keys.check)) {
    throw new UserError('SECRET_PASSPHRASE_WRONG', `the passphrase does not open the secrets file ${file}`,
      'use the passphrase the store was created with (MLTOOLBOX_SECRET_PASSPHRASE or the prompt)');
  }
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, Buffer.from(e.iv, 'base64'));
    decipher.setAAD(additionalData(e));
    decipher.setAuthTag(Buffer.from(e.tag, 'base64'));
    plain = Buffer.concat([decipher.update(Buffer.from(e.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw corrupt(file, 'authentication failed', error);
  }
  const parsed = safeJson(plain) as { secrets?: unknown } | undefined;
  const secrets = parsed?.secrets;
  if (!secrets || typeof secrets !== 'object' || Array.isArray(secrets) || Object.values(secrets).some((v) => typeof v !== 'string')) {
    throw corrupt(file, 'unexpected content');
  }
  return Object.assign(Object.create(null) as Secrets, secrets);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** temp file (0600, fsynced) -> copy the old version to .bak -> rename over. */
async function writeAtomically(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text, { mode: 0o600, backup: `${file}.bak` });
  } catch (error) {
    throw new UserError('SECRET_STORE_UNAVAILABLE', `cannot write the secrets file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'check the folder is writable and the disk is not full; the previous version is unchanged', { cause: error });
  }
}

/** A lock file beside the store (O_EXCL), so two mltoolbox processes never lose each other's write. */
async function withLock<T>(file: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const lock = `${file}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(lock).catch(() => undefined);
      // A writer holds the lock for well under a second; an old lock whose process is gone was left by a kill.
      if (info && Date.now() - info.mtimeMs > STALE_LOCK_MS && !(await lockHolderAlive(lock))) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new UserError('SECRET_STORE_UNAVAILABLE', `the secrets file is locked by another mltoolbox process (${lock})`,
          `wait for it to finish; if no mltoolbox is running, remove ${lock}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
    }
  }
  try {
    return await work();
  } finally {
    // Only our own lock: never one another process took over.
    if ((await readFile(lock, 'utf8').catch(() => '')) === String(process.pid)) await rm(lock, { force: true });
  }
}

async function lockHolderAlive(lock: string): Promise<boolean> {
  const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
