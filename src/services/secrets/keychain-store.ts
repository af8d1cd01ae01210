import { UserError, describeError } from '../../core/errors.ts';
import { assertSecretName, assertSecretValue } from './names.ts';
import type { SecretStore } from './types.ts';

/**
 * The subset of @napi-rs/keyring we use, so tests can pass a fake and the
 * native module is loaded by the app only when a keychain is wanted.
 */
export interface KeyringEntry {
  getPassword(signal?: AbortSignal | null): Promise<string | null>;
  setPassword(password: string, signal?: AbortSignal | null): Promise<void>;
  deleteCredential(signal?: AbortSignal | null): Promise<boolean>;
}

export interface KeyringModule {
  AsyncEntry: new (service: string, username: string, options?: { linux?: { store?: 'secret-service' | 'keyutils' } } | null) => KeyringEntry;
  findCredentialsAsync(service: string, target?: string | null, signal?: AbortSignal | null): Promise<Array<{ account: string; password: string }>>;
}

export interface KeychainSecretStoreOptions {
  keyring: KeyringModule;
  /** The keychain "service" all our entries share. */
  service?: string;
}

export const KEYCHAIN_SERVICE = 'mltoolbox';
/**
 * Not every platform can enumerate a service's entries, so we keep our own
 * list of names in one extra entry. It starts with `__`, which no valid
 * secret name can.
 */
const INDEX_ACCOUNT = '__index__';
const PROBE_ACCOUNT = '__probe__';
/**
 * On Linux pin the Secret Service: the library would otherwise fall back to
 * the kernel keyring, which forgets everything at logout.
 */
const ENTRY_OPTIONS = { linux: { store: 'secret-service' as const } };

export function createKeychainSecretStore(options: KeychainSecretStoreOptions): SecretStore {
  const { keyring } = options;
  const service = options.service ?? KEYCHAIN_SERVICE;
  const entry = (account: string) => new keyring.AsyncEntry(service, account, ENTRY_OPTIONS);

  async function readIndex(): Promise<string[]> {
    const raw = await guard('read', () => entry(INDEX_ACCOUNT).getPassword());
    if (!raw) return [];
    try {
      const names: unknown = JSON.parse(raw);
      return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
    } catch {
      return []; // a damaged index only loses the listing, never a secret; the next write rebuilds it
    }
  }

  async function writeIndex(names: Iterable<string>): Promise<void> {
    const sorted = [...new Set(names)].sort();
    await guard('write', () => entry(INDEX_ACCOUNT).setPassword(JSON.stringify(sorted)));
  }

  /** Names the keychain itself reports, where it can enumerate (Secret Service, macOS, Windows). */
  async function enumerate(): Promise<string[] | undefined> {
    try {
      const found = await keyring.findCredentialsAsync(service);
      return found.map((c) => c.account).filter((a) => !a.startsWith('__'));
    } catch {
      return undefined;
    }
  }

  return {
    backend: 'keychain',
    async get(name) {
      assertSecretName(name);
      return (await guard('read', () => entry(name).getPassword())) ?? undefined;
    },
    async set(name, value) {
      assertSecretName(name);
      assertSecretValue(value);
      await guard('write', () => entry(name).setPassword(value));
      const names = await readIndex();
      if (!names.includes(name)) await writeIndex([...names, name]);
    },
    async list() {
      const enumerated = await enumerate();
      if (enumerated) return [...new Set(enumerated)].sort();
      return (await readIndex()).sort();
    },
    async remove(name) {
      assertSecretName(name);
      const removed = await guard('delete', () => entry(name).deleteCredential());
      const names = await readIndex();
      if (names.includes(name)) await writeIndex(names.filter((n) => n !== name));
      return removed;
    },
  };
}

/** Keychain errors carry no secret values, only platform messages; keep the message for the user. */
async function guard<T>(action: 'read' | 'write' | 'delete', work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw keychainUnavailable(`cannot ${action} the OS keychain: ${describeError(error)}`, error);
  }
}

export function keychainUnavailable(message: string, cause?: unknown): UserError {
  return new UserError('SECRET_STORE_UNAVAILABLE', message,
    'unlock the keychain (on Linux: a running, unlocked Secret Service such as gnome-keyring), or use the encrypted file: MLTOOLBOX_SECRET_STORE=file',
    { cause });
}

/**
 * Does a keychain answer within `timeoutMs`? A lookup of an entry that does
 * not exist is the cheapest question every backend must answer.
 */
export async function probeKeychain(keyring: KeyringModule, timeoutMs: number, service = KEYCHAIN_SERVICE): Promise<{ ok: true } | { ok: false; reason: string }> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; reason: string }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const attempt = new keyring.AsyncEntry(service, PROBE_ACCOUNT, ENTRY_OPTIONS).getPassword(controller.signal)
    .then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, reason: describeError(error) }));
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
