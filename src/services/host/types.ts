import type { FastContainerQuestion } from '../ssh/fast-channel.ts';
import type { RemoteShell } from '../sync/types.ts';

/**
 * The host seam: one interface for every place a command can run, in the
 * spirit of devcontainers/cli's `CLIHost`. Three implementations:
 *
 * - `createLocalHost` — this machine (child processes, node:fs);
 * - `createSshHost` — a machine reached through the shared SSH master;
 * - `createContainerHost` — a container, through the ContainerManager, on
 *   whichever of the two runs its engine.
 *
 * Orchestrators ask a Host to do things (run, read, forward) instead of asking
 * what kind of place it is. A Podman engine, the `mlt` agent and provisioned
 * instances plug in here: a new way to reach a machine is a new Host (plus,
 * for another engine, a ContainerManager), not a new branch in every command.
 */
export interface Host {
  /** The name state and messages use: `local`, a saved remote, an ssh alias, `container NAME on HOST`. */
  readonly name: string;
  /**
   * True for this machine: its files, ports and processes are ours. The one
   * fact callers may read (to skip a sync, or to report a remote folder);
   * how to run, read or forward is the Host's business.
   */
  readonly local: boolean;
  /**
   * Where `-p` ports of a container on this host's engine are published: on
   * this machine's 127.0.0.1 (this machine), or on the engine host's
   * 127.0.0.1 and forwarded here.
   */
  readonly publishPortsOn: 'this-machine' | 'engine-host';
  /** Images built or pulled on this machine must be sent to reach this host's engine (it is another machine's). */
  readonly imagesTravel: boolean;
  /**
   * The project's folder on this host: this machine uses the project folder
   * itself (`synced: false`, nothing to copy); another machine the folder
   * recorded for it (absolute), else `relative` under its home (`synced: true`).
   */
  projectFolder(projectDir: string, place: { recorded?: string; relative: string }): Promise<ProjectFolder>;
  /** How rsync reaches this host's files; undefined for this machine and for containers. */
  readonly rsync?: RemoteShell;
  /**
   * Finds the agent's fast channel on this host running (started by this agent version), else starts it
   * (`mlt serve`, docs/sync.md): later commands skip the login shell's
   * start-up files. Resolves true when one answers. Only hosts reached over
   * SSH have one; MLTOOLBOX_FAST_CHANNEL=0 turns it off.
   */
  startFastChannel?(agent: { path: string; version: string }): Promise<boolean>;
  /**
   * ssh's options and destination for this host, as mltoolbox's own connection
   * uses them (for an ssh command line handed to another program, such as an
   * editor's ProxyCommand); undefined for this machine and for containers.
   */
  readonly sshArgs?: readonly string[];
  /** Runs argv (no shell parses it) and collects its output. A non-zero exit is a result, not an error. */
  exec(argv: readonly string[], options?: HostExecOptions): Promise<HostExecResult>;
  /** Runs a POSIX sh script (`sh -s`, script on stdin; $1… = args) in one round trip. */
  execScript(script: string, options?: HostExecOptions & { args?: readonly string[] }): Promise<HostExecResult>;
  /**
   * Runs argv on the user's terminal (stdin/stdout/stderr inherited: raw mode,
   * resize and Ctrl-C belong to the program). Resolves with its exit code.
   */
  execInteractive(argv: readonly string[], options: InteractiveOptions): Promise<number>;
  /**
   * Runs argv in a container of this host's engine, without a terminal,
   * through the agent's fast channel: the engine's API called on the host,
   * no engine CLI and no shell to start (stdio and exit status as with
   * execInteractive). Undefined when it cannot (no channel, an older agent,
   * or the engine refused before anything ran): the caller then runs the
   * engine's command line. Only hosts reached over SSH have it.
   */
  execInContainer?(exec: ContainerExec): Promise<number | undefined>;
  /** A file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Writes a file (created 0600 unless `mode` says otherwise). */
  writeFile(path: string, data: string | Uint8Array, options?: { mode?: number }): Promise<void>;
  /** Creates a folder and its parents; an existing one is fine. */
  mkdirp(path: string): Promise<void>;
  /** The address other machines use for this host (a worker joining a head). */
  address(): Promise<string>;
  /**
   * Makes a port listening on this host's 127.0.0.1 reachable on this
   * machine's 127.0.0.1. This machine: the port itself (`published`, nothing
   * held). SSH: a forward through the shared master (`session`), or with
   * `detach` a background ssh of its own that outlives this process
   * (`detached`). Undefined when the protocol cannot make the trip (UDP over SSH).
   */
  forwardPort(port: number, options?: ForwardPortOptions): Promise<HostForward | undefined>;
}

export interface ProjectFolder {
  path: string;
  /** The files get there by a sync (another machine). */
  synced: boolean;
}

export interface HostExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Uint8Array;
  /** Variables for the command (added to the host's environment). */
  env?: Record<string, string>;
  /** Folder to run in (containers: default the image's WORKDIR). */
  workdir?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** stderr as it arrives (progress); it is still collected. */
  onStderr?: (chunk: string) => void;
}

export interface HostExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A command for a container, by its engine's socket on the host (what `docker exec` without -t would run). */
export type ContainerExec = FastContainerQuestion;

export interface InteractiveOptions {
  /** Give the program a terminal (a shell); false for pipes (`exec -- cmd > file`). */
  tty: boolean;
  /** Keep stdin connected. */
  stdin: boolean;
  workdir?: string;
  /** Variables for the program (added to the host's environment). */
  env?: Record<string, string>;
}

export interface ForwardPortOptions {
  /** The local port wanted (default: the same number as the host's port). */
  localPort?: number;
  /** What the port is for, in a PORT_BUSY hint (`-p NEXT:CONTAINER`). */
  containerPort?: number;
  /** When the local port is taken: fail with PORT_BUSY (default), take the next free one, or assume it is this forward already (to cancel it). */
  ifBusy?: 'fail' | 'next-free' | 'reuse';
  /** Outlive this process (a background ssh of its own). */
  detach?: boolean;
  protocol?: 'tcp' | 'udp';
}

/** How a port reached this machine; the same words `ports list` shows. */
export interface HostForward {
  kind: 'published' | 'session' | 'detached';
  localPort: number;
  /** The background ssh of a detached forward, to find and stop it later. */
  holder?: { pid: number; controlPath: string };
  /** Ends the forward (a no-op for published ports; a detached one is stopped by its holder). */
  close(): Promise<void>;
}
