import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createKeychainSecretStore, probeKeychain, type KeyringModule } from '../../../../src/services/secrets/keychain-store.ts';
import { createSecretResolver } from '../../../../src/services/secrets/resolver.ts';

/** An in-memory keychain; `canEnumerate: false` mimics platforms without a usable find. */
function fakeKeyring(options: { canEnumerate?: boolean; failWith?: string; hang?: boolean } = {}) {
  const items = new Map<string, string>();
  const key = (service: string, account: string) => `${service}\u0000${account}`;
  const fail = () => {
    if (options.failWith) throw new Error(options.failWith);
  };
  const module: KeyringModule = {
    AsyncEntry: class {
      readonly k: string;
      constructor(service: string, account: string, entryOptions?: { linux?: { store?: string } } | null) {
        assert.equal(entryOptions?.linux?.store, 'secret-service', 'entries are pinned to the Secret Service on Linux');
        this.k = key(service, account);
      }
      async getPassword() {
        if (options.hang) await new Promise(() => {});
        fail();
        return items.get(this.k) ?? null;
      }
      async setPassword(value: string) {
        fail();
        items.set(this.k, value);
      }
      async deleteCredential() {
        fail();
        return items.delete(this.k);
      }
    },
    async findCredentialsAsync(service: string) {
      if (options.canEnumerate === false) throw new Error('not supported');
      return [...items].filter(([k]) => k.startsWith(`${service}\u0000`)).map(([k, password]) => ({ account: k.split('\u0000')[1]!, password }));
    },
  };
  return { module, items };
}

describe('keychain secret store', () => {
  for (const canEnumerate of [true, false]) {
    it(`round-trips and lists names (enumeration ${canEnumerate ? 'available' : 'unavailable'})`, async () => {
      const { module } = fakeKeyring({ canEnumerate });
      const store = createKeychainSecretStore({ keyring: module });
      await store.set('b_key', 'two');
      await store.set('a_key', 'one');
      await store.set('a_key', 'uno');
      assert.equal(await store.get('a_key'), 'uno');
      assert.equal(await store.get('nope'), undefined);
      assert.deepEqual(await store.list(), ['a_key', 'b_key']);
      assert.equal(await store.remove('a_key'), true);
      assert.equal(await store.remove('a_key'), false);
      assert.deepEqual(await store.list(), ['b_key']);
    });
  }

  it('wraps keychain failures as SECRET_STORE_UNAVAILABLE with a file-store hint', async () => {
    const store = createKeychainSecretStore({ keyring: fakeKeyring({ failWith: 'collection is locked' }).module });
    await assert.rejects(store.get('a'), (error: unknown) =>
      error instanceof UserError && error.code === 'SECRET_STORE_UNAVAILABLE' && /locked/.test(error.message) && /MLTOOLBOX_SECRET_STORE=file/.test(error.hint));
  });

  it('validates names before touching the keychain', async () => {
    const store = createKeychainSecretStore({ keyring: fakeKeyring().module });
    await assert.rejects(store.set('__index__', 'x'), (e: unknown) => e instanceof UserError && e.code === 'SECRET_NAME_INVALID');
  });

  it('the probe answers ok, reports errors, and gives up on a silent keychain', async () => {
    assert.deepEqual(await probeKeychain(fakeKeyring().module, 200), { ok: true });
    assert.deepEqual(await probeKeychain(fakeKeyring({ failWith: 'no bus' }).module, 200), { ok: false, reason: 'no bus' });
    const started = Date.now();
    const silent = await probeKeychain(fakeKeyring({ hang: true }).module, 100);
    assert.equal(silent.ok, false);
    assert.ok(Date.now() - started < 1000);
  });

  it('the resolver reads through the store, opening it on first use only', async () => {
    let opened = 0;
    const { module } = fakeKeyring();
    const store = createKeychainSecretStore({ keyring: module });
    await store.set('tok', 'v');
    const resolver = createSecretResolver(async () => (opened++, store));
    assert.equal(opened, 0);
    assert.equal(await resolver.get('tok'), 'v');
    assert.equal(await resolver.get('missing'), undefined);
  });
});
