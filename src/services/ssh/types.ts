import type { FastChannel, FastContainerQuestion } from './fast-channel.ts';
import type { FastCallOptions } from './fast-exec.ts';
import type { SshTarget } from './target.ts';

export interface ExecOptions {
  /** Sent to the remote command's stdin. */
  input?: string | Uint8Array;
  /** Bound on the whole run (connection included). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Throw REMOTE_COMMAND_FAILED on a non-zero exit (default true). */
  check?: boolean;
  /** The remote stderr as it arrives (progress lines); it is still captured. */
  onStderr?: (chunk: string) => void;
}

export interface ScriptOptions extends ExecOptions {
  /** Positional parameters of the script ($1, $2, ...). */
  args?: readonly string[];
}

export interface ExecResult {
  /** The remote command's exit status. */
  code: number;
  stdout: string;
  /** Remote stderr: may start with noise from the user's shell start-up files. */
  stderr: string;
}

/** What `ssh -G` says it will use for a target, after ~/.ssh/config and our options. */
export interface ResolvedHost {
  hostname: string;
  port: number;
  user: string;
  /** ssh_config StrictHostKeyChecking as ssh -G prints it: true, false, ask, accept-new. */
  strictHostKeyChecking: string;
  /** ConnectTimeout in seconds, if the ssh config sets one. */
  connectTimeout?: number;
}

export type ForwardEnd = { port: number; host?: string } | { socket: string };

export interface ForwardSpec {
  /** Where to listen locally: a TCP port on 127.0.0.1 (0 or absent = pick a free one) or a unix socket path. */
  local?: { port?: number; bind?: string } | { socket: string };
  /** What to reach from the host: host:port (host defaults to localhost) or a unix socket path. */
  remote: ForwardEnd;
}

export interface Forward {
  /** The local TCP port, for a TCP forward. */
  localPort?: number;
  localSocket?: string;
  /** The `-L` argument given to ssh. */
  spec: string;
  /** Stops forwarding (ssh -O cancel); safe to call twice. */
  close(): Promise<void>;
}

/**
 * One multiplexed OpenSSH connection per host, shared by every exec, script,
 * rsync and forward. Targets come from parseTarget (./target.ts).
 */
export interface SshService {
  /** What ssh will actually use for the target (`ssh -G`, no network). */
  resolve(target: SshTarget): Promise<ResolvedHost>;
  /** Opens the shared master connection if none is running. */
  connect(target: SshTarget): Promise<void>;
  /** Whether a master connection is running (its hello on the control socket, else `ssh -O check`). */
  check(target: SshTarget): Promise<boolean>;
  /** Ends the master connection (`ssh -O exit`); fine when none runs. */
  closeMaster(target: SshTarget): Promise<void>;
  /** Connects, retrying while the host is unreachable, for at most timeoutMs. */
  waitForHost(target: SshTarget, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Runs argv on the host; every word is quoted, nothing is parsed by the remote shell. */
  exec(target: SshTarget, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs a POSIX sh script on the host in one round trip (`sh -s`, script on stdin). */
  execScript(target: SshTarget, script: string, options?: ScriptOptions): Promise<ExecResult>;
  /** Forwards a local port or socket to the host through the master (`ssh -O forward -L`). */
  forward(target: SshTarget, spec: ForwardSpec): Promise<Forward>;
  /** ssh options (no destination, no command) for tools that run ssh themselves. */
  sshOptions(target: SshTarget): string[];
  /** `ssh` argv after the program name: options, `--`, destination; append a command. */
  sshArgs(target: SshTarget): string[];
  /** The string for `rsync -e`, quoted the way rsync splits it. */
  rsyncShell(target: SshTarget): string;
  /** `host:path` for rsync (IPv6 in brackets); user and port travel in rsyncShell. */
  rsyncRemote(target: SshTarget, path: string): string;
  /**
   * The fast channel to the host (`mlt serve`, see fast-channel.ts) when one
   * was saved for it; undefined without a control folder or with
   * MLTOOLBOX_FAST_CHANNEL=0.
   */
  fastChannel(target: SshTarget): FastChannel | undefined;
  /** Saves (or, with undefined, forgets) the host's fast channel. */
  saveFastChannel(target: SshTarget, channel: FastChannel | undefined): void;
  /** Whether the saved channel's server answers (one command through it, bounded). */
  fastChannelAnswers(target: SshTarget, channel: FastChannel): Promise<boolean>;
  /**
   * Runs a command line through the fast channel (framed; see fast-exec.ts):
   * its exit status, or undefined when the channel did not start it (nothing
   * sent, none of stdin read: run it the usual way).
   */
  fastExec(target: SshTarget, channel: FastChannel, command: string, options: FastCallOptions): Promise<number | undefined>;
  /** Runs a command in a container through the engine's API on the host (fast-exec.ts fastContainerExec). */
  fastContainerExec(target: SshTarget, channel: FastChannel, question: FastContainerQuestion, options: FastCallOptions): Promise<number | 'unavailable' | { refused: string }>;
  /** The host's treeDigest (core/tree-digest.ts) of `entries` under its folder `root`, from `mlt serve`; undefined when it cannot tell. */
  fastTreeDigest(target: SshTarget, channel: FastChannel, root: string, entries: readonly string[]): Promise<string | undefined>;
  /** rsync's `-e` through the fast channel (the handshake travels in its environment, fastRsyncEnv; never argv, never the token). */
  fastRsyncShell(target: SshTarget, channel: FastChannel): string;
}
