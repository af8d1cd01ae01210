import type { SecretResolver, SecretStore } from './types.ts';

/**
 * The read-only view config interpolation gets. The store is opened on the
 * first `${secret:…}` only, so configs without secrets never touch the
 * keychain or ask for a passphrase.
 */
export function createSecretResolver(openStore: () => Promise<SecretStore>): SecretResolver {
  return {
    async get(name) {
      const store = await openStore();
      return store.get(name);
    },
  };
}
