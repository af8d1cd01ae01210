export type { SecretBackendName, SecretResolver, SecretStore } from './types.ts';
export { assertSecretName, assertSecretValue, isValidSecretName } from './names.ts';
export { createSecretResolver } from './resolver.ts';
