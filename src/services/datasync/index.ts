export { RcloneSyncManager } from './rclone-sync-manager.ts';
export { localRcloneExecutor } from './local-executor.ts';
export { buildRcloneArgs, splitPatterns, validateCount, validateRemotePath, validateSize } from './rclone-args.ts';
export type { DataSyncDirection, DataSyncMode, DataSyncProgress, DataSyncRequest, DataSyncSummary, RcloneExecutor, RcloneRunResult } from './types.ts';
