import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { AppPaths } from '../core/paths.ts';
import type { KeyringModule } from '../services/secrets/keychain-store.ts';
import type { PassphraseRequest } from '../services/secrets/file-store.ts';
import type { SecretStore } from '../services/secrets/types.ts';
import type { AppEnvironment } from './create-app.ts';

export const PASSPHRASE_ENV = 'MLTOOLBOX_SECRET_PASSPHRASE';
const PROBE_TIMEOUT_MS = 1500;

/** Picks the backend (see services/secrets/select.ts) and builds it. */
export async function createSecretStore(environment: AppEnvironment, paths: AppPaths): Promise<SecretStore> {
  const { chooseSecretBackend } = await import('../services/secrets/select.ts');
  const { probeKeychain, createKeychainSecretStore, keychainUnavailable } = await import('../services/secrets/keychain-store.ts');
  let keyring: KeyringModule | undefined;
  let loadError: unknown;
  const loadKeyring = async () => {
    try {
      keyring ??= (await import('@napi-rs/keyring')) as KeyringModule;
    } catch (error) {
      loadError = error;
    }
    return keyring;
  };

  const choice = await chooseSecretBackend({
    env: environment.env,
    platform: process.platform,
    probeKeychain: async () => {
      const module = await loadKeyring();
      return module ? probeKeychain(module, PROBE_TIMEOUT_MS) : { ok: false, reason: 'the keychain module did not load' };
    },
  });
  environment.reporter.debug(`secrets: using the ${choice.backend === 'keychain' ? 'OS keychain' : `encrypted file ${secretsFile(paths)}`} (${choice.reason})`);

  if (choice.backend === 'keychain') {
    const module = await loadKeyring();
    if (!module) throw keychainUnavailable('the OS keychain module could not be loaded on this system', loadError);
    return createKeychainSecretStore({ keyring: module });
  }
  const { createFileSecretStore } = await import('../services/secrets/file-store.ts');
  return createFileSecretStore({ file: secretsFile(paths), passphrase: (request) => askPassphrase(environment, request) });
}

export function secretsFile(paths: AppPaths): string {
  return join(paths.stateDir, 'secrets.enc');
}

async function askPassphrase(environment: AppEnvironment, request: PassphraseRequest): Promise<string> {
  const fromEnv = environment.env[PASSPHRASE_ENV];
  if (fromEnv) return fromEnv;
  const ask = environment.askHidden;
  if (!environment.interactive || !ask) {
    throw new UserError('SECRET_PASSPHRASE_REQUIRED', `the encrypted secrets file ${request.file} needs a passphrase and there is no terminal to ask`,
      `set ${PASSPHRASE_ENV} for non-interactive use (e.g. from your CI's secret store)`);
  }
  if (!request.creating) return ask('Passphrase for the mltoolbox secrets file: ');
  environment.reporter.info(`Creating the encrypted secrets file ${request.file}. Choose a passphrase; it cannot be recovered.`);
  const first = await ask('New passphrase: ');
  const second = await ask('Repeat the passphrase: ');
  if (first !== second) {
    throw new UserError('SECRET_PASSPHRASE_WRONG', 'the two passphrases differ', 'run the command again and type the same passphrase twice');
  }
  return first;
}

// The CLI validates before prompting; it may not import services directly.
export { assertSecretName, assertSecretValue } from '../services/secrets/names.ts';
