/**
 * Where named secrets live. Names are validated (see names.ts); values are
 * opaque strings that must never reach a log, an argv or a plaintext file.
 */
export interface SecretStore {
  /** Which backend this is, for `--verbose` and `secret list --json`. */
  readonly backend: SecretBackendName;
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  /** Names only, sorted. Never values. */
  list(): Promise<string[]>;
  /** True when a secret was removed, false when there was none by that name. */
  remove(name: string): Promise<boolean>;
}

export type SecretBackendName = 'keychain' | 'file';

/**
 * What config interpolation (`${secret:name}`) needs: lookup only, so the
 * config layer cannot write, list or log the store.
 */
export interface SecretResolver {
  get(name: string): Promise<string | undefined>;
}
