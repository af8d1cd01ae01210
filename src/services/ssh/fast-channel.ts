import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
}

/** The environment variable that carries the token to the rsh script (never argv). */
export const FAST_TOKEN_ENV = 'MLT_FAST_TOKEN';
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
  const { port, token, agent, pid } = (value ?? {}) as { port?: unknown; token?: unknown; agent?: unknown; pid?: unknown };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof token !== 'string' || !/^[0-9a-f]{64}$/.test(token)) return undefined;
  return { port, token, ...(typeof agent === 'string' ? { agent } : {}), ...(typeof pid === 'number' && Number.isInteger(pid) && pid > 1 ? { pid } : {}) };
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

/** How every request starts (protocol version 1). */
export const FAST_MAGIC = 'MLT1 ';

/** A request's first bytes: `MLT1 token [framed]`, newline, the command line, NUL (what the rsh script's printf writes). */
export function fastChannelRequest(channel: FastChannel, command: string, mode?: 'framed'): Buffer {
  return Buffer.concat([Buffer.from(`${FAST_MAGIC}${channel.token}${mode ? ` ${mode}` : ''}\n${command}`), Buffer.from([0])]);
}

/**
 * A framed request's reply (`mltoolbox exec`), server to client: type (1
 * byte), payload length (u32 BE), payload. `started` once the command runs
 * (the client sends stdin only then), stdout and stderr as they come, `exit`
 * last with the status as text (128+N for signal N).
 */
export const FAST_FRAME = { started: 0, stdout: 1, stderr: 2, exit: 3 } as const;
export const FAST_FRAME_LAYOUT = { headerSize: 5, lengthAt: 1 } as const;

export function fastFrame(type: number, payload: Buffer | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(FAST_FRAME_LAYOUT.headerSize);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, FAST_FRAME_LAYOUT.lengthAt);
  return Buffer.concat([head, body]);
}

/**
 * rsync's `-e` runs this with: port, the number of ssh words, ssh's words,
 * then (added by rsync) the host and the remote command. ssh's stdin is the
 * header (`MLT1 token`, the command as ssh would send it, NUL) and then
 * rsync's stream; `exec` makes ssh rsync's child, so rsync sees it end.
 */
const RSH_SCRIPT = `# mltoolbox: rsync through the fast channel (mlt serve); written by mltoolbox, safe to delete.
port=$1; n=$2; shift 2
ssh=("\${@:1:n}"); shift "$n"
host=$1; shift
exec 3<&0
exec "\${ssh[@]}" -W "127.0.0.1:$port" "$host" < <(printf 'MLT1 %s\\n%s\\0' "$${FAST_TOKEN_ENV}" "$*"; exec cat <&3) 3<&-
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
