export { createRemotesOrchestrator, type AddRemoteOutcome, type AddRemoteRequest, type RemotesDeps, type RemotesOrchestrator } from './remotes-orchestrator.ts';
export type { RemoteRecord } from '../../db/index.ts';
export type { RefreshOptions, SshConfigOutcome } from './ssh-config.ts';
