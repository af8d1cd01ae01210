export type { FetchRequest, PushRequest, RemoteShell, SyncChanges, SyncManager, SyncProgress, SyncRules, SyncSummary, TransferOptions, WatchEvent, WatchRequest } from './types.ts';
export { RsyncSyncManager, type RsyncSyncManagerOptions } from './rsync-sync-manager.ts';
export { DEFAULT_PROTECTED } from './filters.ts';
export { DEFAULT_DEBOUNCE_MS } from './watch.ts';
export { rulesFromConfig, type SyncConfigSection } from './config-rules.ts';
