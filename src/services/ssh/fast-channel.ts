import { closeSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../../core/digest.ts';
import { quoteRsyncArg } from './rsync-quote.ts';

/**
 * The fast channel (`mlt serve` on the host, docs/sync.md): a command sent
 * through a forwarded channel of the shared master (`ssh -W
 * 127.0.0.1:PORT`) instead of a new session, so the host's login shell and
 * its start-up files are skipped. connect starts the server and saves its
 * port and token here, next to the master's control socket (a private 0700
 * folder; the file is 0600, like the socket that already grants a shell on
 * the host). It is a cache: a failed open removes it and the command goes
 * the usual way.
 */
export interface FastChannel {
  port: number;
  token: string;
  /** The agent version that started the server (a newer agent starts its own). */
  agent?: string;
  /** The server's process on the host. */
  pid?: number;
  /** What the server answers beyond commands (FAST_FEATURES of its agent; absent: an older one). */
  features?: string[];
}

/** A request's mode (the word after the client's proof): rsync's raw stream, exec's frames, a tree digest, or a container exec. */
export type FastMode = 'raw' | 'framed' | 'tree' | 'container';

/**
 * What this version's `mlt serve` answers besides commands: `tree`, the
 * digest a sync with nothing to do stops at; `container`, a command run in a
 * container through the engine's API (no engine CLI to start).
 */
export const FAST_FEATURES = ['tree', 'container'] as const;

/** MLTOOLBOX_FAST_CHANNEL=0: never use or start the fast channel. */
export const FAST_CHANNEL_ENV = 'MLTOOLBOX_FAST_CHANNEL';

export function fastChannelEnabled(env: NodeJS.ProcessEnv): boolean {
  return env[FAST_CHANNEL_ENV] !== '0';
}

/** What `mlt serve` printed, checked before it is trusted or saved. */
export function parseFastChannel(text: string): FastChannel | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text.trim().split('\n').pop() ?? '');
  } catch {
    return undefined;
  }
  const { port, token, agent, pid, features } = (value ?? {}) as { port?: unknown; token?: unknown; agent?: unknown; pid?: unknown; features?: unknown };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof token !== 'string' || !/^[0-9a-f]{64}$/.test(token)) return undefined;
  return {
    port,
    token,
    ...(typeof agent === 'string' ? { agent } : {}),
    ...(typeof pid === 'number' && Number.isInteger(pid) && pid > 1 ? { pid } : {}),
    ...(Array.isArray(features) ? { features: features.filter((feature): feature is string => typeof feature === 'string') } : {}),
  };
}

export function readFastChannel(controlPath: string): FastChannel | undefined {
  try {
    return parseFastChannel(readFileSync(`${controlPath}.fast`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function saveFastChannel(controlPath: string, channel: FastChannel | undefined): void {
  const file = `${controlPath}.fast`;
  if (channel) writeFileSync(file, `${JSON.stringify(channel)}\n`, { mode: 0o600 });
  else rmSync(file, { force: true });
}

/**
 * Stops fast-channel servers on the host (sh, `$1` `$2`): those of the agent
 * at path $1 (empty: any agent), only the process $2 when given. A process
 * is one when its command line says so (a pid can be reused).
 */
export const STOP_SERVERS_SCRIPT = `a=$1; if [ -n "$2" ]; then set -- "/proc/$2"; else set -- /proc/[0-9]*; fi
for p; do c=$(tr '\\0' ' ' 2>/dev/null < "$p/cmdline") || continue
  case "$c" in *" serve --foreground"*) ;; *) continue;; esac
  case "$c" in "$a serve --foreground"*) ;; *) [ -z "$a" ] || continue;; esac
  kill "\${p#/proc/}" 2>/dev/null
done`;

/**
 * The handshake: both sides prove they hold the token, and it never travels.
 * Client: `MLT2 <nonce>\n` (32 random hex characters, new for every
 * connection). Server: `<sha256(token:server:nonce)>\n`. The client checks
 * it before it sends anything else, so a process that took the port after
 * the server stopped (another user of the host) learns nothing and gets no
 * data. Client: `<sha256(token:client:nonce)>[ MODE]\n<command line>\0`,
 * then the command's stdin. The server takes each nonce once (a replayed
 * request is refused). Both proofs are computed here, before the connection:
 * rsync's helper script only compares and sends them (no hashing there).
 */
export const FAST_MAGIC = 'MLT2 ';

export function fastProof(token: string, role: 'server' | 'client', nonce: string): string {
  // core/digest's SHA-256 (the same bytes as node:crypto's): loading node:crypto would cost exec ~15 ms of start-up.
  return sha256Hex(`${token}:${role}:${nonce}`);
}

/** One connection's handshake, from this side: the nonce and both proofs. */
export interface FastHandshake {
  nonce: string;
  serverProof: string;
  clientProof: string;
}

export function fastHandshake(channel: FastChannel): FastHandshake {
  const nonce = randomHex(16);
  return { nonce, serverProof: fastProof(channel.token, 'server', nonce), clientProof: fastProof(channel.token, 'client', nonce) };
}

/** Unpredictable bytes from the kernel's random generator (/dev/urandom), without loading node:crypto. */
function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  let fd: number | undefined;
  try {
    fd = openSync('/dev/urandom', 'r');
    if (readSync(fd, buffer, 0, bytes, null) === bytes) return buffer.toString('hex');
  } catch {
    // no /dev/urandom (Windows): node:crypto below
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return process.getBuiltinModule('node:crypto').randomBytes(bytes).toString('hex');
}

/** Whether the server's handshake line is the proof this side expects. */
export function serverProved(handshake: FastHandshake, line: string): boolean {
  return proofsEqual(handshake.serverProof, line);
}

/** Two proofs compared in constant time (both sides of the handshake; no node:crypto). */
export function proofsEqual(expected: string, given: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(given) || given.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < given.length; i++) difference |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return difference === 0;
}

/** The client's request after the server proved itself. */
export function fastChannelRequest(handshake: FastHandshake, command: string, mode: FastMode = 'raw'): Buffer {
  return Buffer.concat([Buffer.from(`${handshake.clientProof}${mode === 'raw' ? '' : ` ${mode}`}\n${command}`), Buffer.from([0])]);
}

/**
 * A `tree` request: the question is `{"root", "list"}` (the host folder, as
 * a push names it, and the entriesId of the paths). The server answers one
 * line: `digest <hex>` (treeDigest of those paths under root), `send-list`
 * when it does not hold that list (the client then sends it, gzipped, and
 * ends its side; the server answers `digest` or `error`), or `error <why>`.
 */
export interface FastTreeQuestion {
  root: string;
  list: string;
}

/**
 * A `container` request (framed, like exec's): argv run in container `id`
 * through the engine's API at `socket` on the host (Docker's, or Podman's
 * compatible one). The server answers `refused` (with the engine's reason)
 * instead of `started` when it could not start it: nothing ran.
 */
export interface FastContainerQuestion {
  socket: string;
  id: string;
  argv: string[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  /** Keep stdin open (docker exec -i). */
  stdin: boolean;
}

/** A `tree` or `container` question's JSON, as an object (the server then checks each field). */
export function parseFastQuestion(text: string, mode: 'tree' | 'container'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`a ${mode} request that is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Bounds on a list a client sends: gzipped, and unpacked. */
export const FAST_TREE_LIMITS = { gzippedBytes: 64 * 1024 * 1024, bytes: 512 * 1024 * 1024 } as const;

/** What rsync's helper script reads from its environment: one handshake (a new one for each rsync run). */
export function fastRsyncEnv(channel: FastChannel): Record<string, string> {
  const handshake = fastHandshake(channel);
  return { MLT_FAST_NONCE: handshake.nonce, MLT_FAST_SERVER_PROOF: handshake.serverProof, MLT_FAST_CLIENT_PROOF: handshake.clientProof };
}

/**
 * A framed request's reply (`mltoolbox exec`), server to client: type (1
 * byte), payload length (u32 BE), payload. `started` once the command runs
 * (the client sends stdin only then), stdout and stderr as they come, `exit`
 * last with the status as text (128+N for signal N). `refused` (a container
 * request only) instead of `started`, with the reason: nothing ran.
 */
export const FAST_FRAME = { started: 0, stdout: 1, stderr: 2, exit: 3, refused: 4 } as const;
export const FAST_FRAME_LAYOUT = { headerSize: 5, lengthAt: 1 } as const;

export function fastFrame(type: number, payload: Buffer | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(FAST_FRAME_LAYOUT.headerSize);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, FAST_FRAME_LAYOUT.lengthAt);
  return Buffer.concat([head, body]);
}

/**
 * Sends one frame of a command's output. A slow reader holds `source` back
 * until the socket drains (as a pipe would) instead of filling the server's memory.
 */
export function sendFrame(socket: NodeJS.WritableStream, type: number, payload: Buffer, source: NodeJS.ReadableStream): void {
  if (!socket.write(fastFrame(type, payload))) {
    source.pause();
    socket.once('drain', () => source.resume());
  }
}

/**
 * rsync's `-e` runs this with: port, the number of ssh words, ssh's words,
 * then (added by rsync) the host and the remote command. With ssh as a
 * coprocess it sends the nonce, checks the server's proof before it sends
 * anything of rsync's, then the request, then joins rsync's stdin and stdout
 * to ssh's. The nonce and proofs come in the environment (fastRsyncEnv),
 * never argv; the token is not there at all. It needs bash 4 (coproc); an
 * older bash (macOS's 3.2) fails the same way as a channel that does not
 * answer, and rsync goes by ssh.
 */
const RSH_SCRIPT = `# mltoolbox: rsync through the fast channel (mlt serve); written by mltoolbox, safe to delete.
fail() { echo "mltoolbox fast channel: $1 (stdio forwarding failed)" >&2; exit 255; }
[ "\${BASH_VERSINFO[0]:-0}" -ge 4 ] || fail "needs bash 4 or newer"
exec 3<&0 # rsync's stream, for the background cat (which would get /dev/null)
port=$1; n=$2; shift 2
ssh=("\${@:1:n}"); shift "$n"
host=$1; shift
coproc FAST { exec "\${ssh[@]}" -W "127.0.0.1:$port" "$host"; }
exec 4>&"\${FAST[1]}" 5<&"\${FAST[0]}"
printf '${FAST_MAGIC}%s\\n' "$MLT_FAST_NONCE" >&4
IFS= read -r proof <&5 || fail "no answer"
[ -n "$MLT_FAST_SERVER_PROOF" ] && [ "$proof" = "$MLT_FAST_SERVER_PROOF" ] || fail "the server did not prove the token"
printf '%s\\n%s\\0' "$MLT_FAST_CLIENT_PROOF" "$*" >&4
cat <&3 >&4 &
exec cat <&5
`;

/** The rsh script beside the control sockets (rewritten when it differs), and rsync's -e for it. */
export function fastRsyncShell(controlPath: string, channel: FastChannel, sshWords: readonly string[]): string {
  const script = join(dirname(controlPath), 'fast-rsh.bash');
  let current: string | undefined;
  try {
    current = readFileSync(script, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== RSH_SCRIPT) writeFileSync(script, RSH_SCRIPT, { mode: 0o600 });
  return ['bash', script, String(channel.port), String(sshWords.length), ...sshWords].map(quoteRsyncArg).join(' ');
}
