export { createRemotesOrchestrator, type AddRemoteOutcome, type AddRemoteRequest, type RemotesDeps, type RemotesOrchestrator } from './remotes-orchestrator.ts';
export { parsePort, parseTarget, validateAlias, validateUser, type SshTarget } from './target.ts';
export type { RemoteRecord } from '../../db/index.ts';
