export { createSshManager, type SshManagerOptions } from './manager.ts';
export { parseTarget, formatTarget, type SshTarget, type SshTargetDefaults } from './target.ts';
export type { SshService, ExecOptions, ScriptOptions, ExecResult, ResolvedHost, Forward, ForwardSpec } from './types.ts';
