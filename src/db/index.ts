export { openStateStore, type OpenStateStoreOptions, type StateStore } from './state-store.ts';
export { MIGRATIONS, latestVersion, type Migration } from './migrations.ts';
export type * from './types.ts';
