export { createSshManager, type SshManagerOptions } from './manager.ts';
export { parseTarget, formatTarget, resolveTarget, type SshTarget, type SshTargetDefaults, type RemoteSettings, type SavedRemote } from './target.ts';
export type { SshService, ExecOptions, ScriptOptions, ExecResult, ResolvedHost, Forward, ForwardSpec } from './types.ts';
