import { UserError } from '../../core/errors.ts';
import type { SecretBackendName } from './types.ts';

export interface BackendChoice {
  backend: SecretBackendName;
  /** One line for `--verbose`: why this backend. */
  reason: string;
}

export interface ChooseBackendOptions {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** Asks the keychain a cheap question; only called in auto mode when one may exist. */
  probeKeychain: () => Promise<{ ok: true } | { ok: false; reason: string }>;
}

export const SECRET_STORE_ENV = 'MLTOOLBOX_SECRET_STORE';

/**
 * MLTOOLBOX_SECRET_STORE=keychain|file forces a backend. Otherwise (auto)
 * the keychain wins when it answers; on Linux that needs a session bus, and
 * headless boxes and CI have none, so they get the file without waiting.
 */
export async function chooseSecretBackend(options: ChooseBackendOptions): Promise<BackendChoice> {
  const requested = (options.env[SECRET_STORE_ENV] ?? '').trim().toLowerCase();
  if (requested === 'keychain' || requested === 'file') {
    return { backend: requested, reason: `${SECRET_STORE_ENV}=${requested}` };
  }
  if (requested !== '' && requested !== 'auto') {
    throw new UserError('SECRET_STORE_UNAVAILABLE', `${SECRET_STORE_ENV} is '${requested}', which is not a secret store`,
      `set ${SECRET_STORE_ENV} to keychain, file or auto (or unset it)`);
  }
  if (options.platform === 'linux' && !options.env.DBUS_SESSION_BUS_ADDRESS) {
    return { backend: 'file', reason: 'no D-Bus session (DBUS_SESSION_BUS_ADDRESS unset), so no Secret Service' };
  }
  const probe = await options.probeKeychain();
  if (probe.ok) return { backend: 'keychain', reason: 'the OS keychain answered' };
  return { backend: 'file', reason: `the OS keychain did not answer (${probe.reason})` };
}
