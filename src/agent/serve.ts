import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, openSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { constants as osConstants, homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolvePaths } from '../core/paths.ts';
import { FAST_FEATURES, FAST_FRAME, FAST_MAGIC, fastFrame, fastProof, proofsEqual, sendFrame, type FastMode } from '../services/ssh/fast-channel.ts';
import { runInContainer } from './serve-container.ts';
import { answerTree, TreeLists } from './serve-tree.ts';

/**
 * `mlt serve`: the fast channel. Every command ssh runs on a host starts the
 * user's login shell first, and that shell reads its start-up files (a
 * `conda init` or `pyenv init` in ~/.bashrc costs 0.1–0.5 s, on every
 * command). This server is started once per host by connect; afterwards
 * mltoolbox opens a stream to it through the shared SSH master (`ssh -W
 * 127.0.0.1:PORT`, a forwarded channel: no session, no login shell) and it
 * runs the command with /bin/sh, which reads no start-up files.
 *
 * It listens on the host's 127.0.0.1 only. A connection starts with a
 * handshake in which each side proves it holds the token without sending it
 * (src/services/ssh/fast-channel.ts): the server runs nothing for a client
 * that cannot, and a client sends nothing to a listener that cannot (another
 * user who took the port after this server stopped). The 32-byte token is
 * made here and printed once on the ssh session that started it. With no
 * connection for --idle seconds it exits.
 *
 * After the handshake: the command line (as sshd would get it), NUL, then
 * the command's stdin. Raw (rsync): the command's stdout comes back and its
 * stderr goes to the log (rsync sends its own errors in band). Framed (exec):
 * see run. The connection ends when the command does; a closed connection
 * ends the command.
 */
export const SERVE_HELP = `mlt serve — the fast channel for mltoolbox on this host (started by mltoolbox connect)

Usage: mlt serve [--idle SECONDS] [--log FILE]

Starts a server on 127.0.0.1 in the background and prints {"port", "token", "pid"} on one
line. Commands reach it through the SSH connection, with the token, and skip the login
shell's start-up files. It exits after --idle seconds without a connection (default 3600).
Log: ~/.cache/mltoolbox/mlt-serve.log (--log to change it).`;

const HEADER_MAX_BYTES = 256 * 1024;
const HEADER_TIMEOUT_MS = 10_000;

export interface ServeOptions {
  idleMs: number;
  token: string;
  log: (line: string) => void;
  /** The folder commands start in (sshd's: the home folder). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Called when the server has closed (idle). */
  onClose?: () => void;
}

export interface Request {
  /** The client's proof (fastProof with role client). */
  proof: string;
  /**
   * `raw` (rsync): the command's stdin and stdout are the connection.
   * `framed` (exec): stdout, stderr and the exit status come back in frames (see run).
   * `tree`: no command; the digest of a list of paths (serve-tree.ts).
   * `container`: framed, argv run in a container through the engine's API (serve-container.ts).
   */
  mode: FastMode;
  /** The command line, or for `tree` its JSON question. */
  command: string;
  /** Bytes after the request: the command's first stdin. */
  rest: Buffer;
}

/** The client's hello (`MLT2 <nonce>\n`): its nonce and what followed; undefined while incomplete; throws on anything else. */
export function parseHello(buffer: Buffer): { nonce: string; rest: Buffer } | undefined {
  const newline = buffer.indexOf(0x0a);
  if (newline < 0) {
    const start = buffer.subarray(0, FAST_MAGIC.length).toString('latin1');
    if (!FAST_MAGIC.startsWith(start) || buffer.length > 100) throw new Error('not an mlt fast-channel request');
    return undefined;
  }
  const match = /^MLT2 ([0-9a-f]{32})$/.exec(buffer.subarray(0, newline).toString('latin1'));
  if (!match) throw new Error('not an mlt fast-channel request');
  return { nonce: match[1]!, rest: buffer.subarray(newline + 1) };
}

/** The client's request after the hello: undefined while incomplete; throws on a malformed one. */
export function parseRequest(buffer: Buffer): Request | undefined {
  const newline = buffer.indexOf(0x0a);
  if (newline < 0) {
    if (buffer.length > 100) throw new Error('not an mlt fast-channel request');
    return undefined;
  }
  const match = /^([0-9a-f]{64})(?: (framed|tree|container))?$/.exec(buffer.subarray(0, newline).toString('latin1'));
  if (!match) throw new Error('not an mlt fast-channel request');
  const nul = buffer.indexOf(0x00, newline + 1);
  if (nul < 0) {
    if (buffer.length > HEADER_MAX_BYTES) throw new Error(`the command line is over ${HEADER_MAX_BYTES} bytes`);
    return undefined;
  }
  return { proof: match[1]!, mode: (match[2] ?? 'raw') as FastMode, command: buffer.subarray(newline + 1, nul).toString('utf8'), rest: buffer.subarray(nul + 1) };
}

/** Listens on 127.0.0.1 (port 0: a free one) and serves until idle. */
export function startServer(options: ServeOptions, port = 0): Promise<{ server: Server; port: number }> {
  let active = 0;
  const seen = new NonceLog();
  const lists = new TreeLists();
  let idleTimer: NodeJS.Timeout | undefined;
  // Half-open: the client ends its stdin (EOF) and still reads the output.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    active += 1;
    if (idleTimer) clearTimeout(idleTimer);
    socket.once('close', () => {
      active -= 1;
      if (active === 0) armIdle();
    });
    handle(socket, options, seen, lists);
  });
  const armIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (active > 0) return;
      options.log(`no connection for ${Math.round(options.idleMs / 1000)} s; stopping`);
      server.close(() => options.onClose?.());
    }, options.idleMs);
    idleTimer.unref(); // the listening server keeps the process alive, not this timer
  };
  server.once('close', () => clearTimeout(idleTimer));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      server.off('error', reject);
      armIdle();
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}

function handle(socket: Socket, options: ServeOptions, seen: NonceLog, lists: TreeLists): void {
  let buffer: Buffer = Buffer.alloc(0);
  let nonce: string | undefined;
  const timer = setTimeout(() => {
    options.log('refused a connection: no complete request within 10 s');
    socket.destroy();
  }, HEADER_TIMEOUT_MS);
  socket.on('error', () => socket.destroy());
  const refuse = (why: string) => {
    clearTimeout(timer);
    options.log(`refused a connection: ${why}`);
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    try {
      if (nonce === undefined) {
        const hello = parseHello(buffer);
        if (!hello) return;
        if (!seen.add(hello.nonce)) {
          refuse('a nonce used before (a replayed request)');
          return;
        }
        nonce = hello.nonce;
        socket.write(`${fastProof(options.token, 'server', nonce)}\n`);
        buffer = hello.rest;
      }
      const request = parseRequest(buffer);
      if (!request) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (!proofsEqual(fastProof(options.token, 'client', nonce), request.proof)) {
        refuse('wrong token');
        return;
      }
      if (request.mode === 'tree') answerTree(socket, request, { cwd: options.cwd, lists, log: options.log });
      else if (request.mode === 'container') runInContainer(socket, request, options.log);
      else run(socket, request, options);
    } catch (error) {
      refuse((error as Error).message);
    }
  };
  socket.on('data', onData);
}

/** The nonces this server has taken (each once): the newest 100,000. */
class NonceLog {
  private readonly nonces = new Set<string>();
  add(nonce: string): boolean {
    if (this.nonces.has(nonce)) return false;
    this.nonces.add(nonce);
    if (this.nonces.size > 100_000) this.nonces.delete(this.nonces.values().next().value!);
    return true;
  }
}

/**
 * Raw (rsync): the socket is the command's stdin and stdout; stderr goes to
 * the log. Framed (exec): a `started` frame once the command runs (the client
 * sends stdin only then, so a refused request loses none), then stdout and
 * stderr frames, then `exit` with the status (128+N for signal N).
 */
function run(socket: Socket, header: Request, options: ServeOptions): void {
  socket.pause();
  const child = spawn('/bin/sh', ['-c', header.command], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const name = header.command.split(' ', 1)[0];
  let stderr = '';
  child.on('error', (error) => {
    options.log(`${name}: could not start: ${error.message}`);
    socket.destroy();
  });
  child.stdin.on('error', () => undefined);
  if (header.rest.length) child.stdin.write(header.rest);
  socket.pipe(child.stdin);
  if (header.mode === 'framed') {
    socket.write(fastFrame(FAST_FRAME.started));
    child.stdout.on('data', (chunk: Buffer) => sendFrame(socket, FAST_FRAME.stdout, chunk, child.stdout));
    child.stderr.on('data', (chunk: Buffer) => sendFrame(socket, FAST_FRAME.stderr, chunk, child.stderr));
  } else {
    child.stdout.pipe(socket, { end: false });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < 4096) stderr += text;
    });
  }
  socket.resume();
  socket.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  child.once('close', (code, signal) => {
    if (code !== 0 || stderr) options.log(`${name}: exit ${code ?? signal}${stderr ? `: ${stderr.trim().slice(0, 2000)}` : ''}`);
    const status = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
    if (header.mode === 'framed') socket.end(fastFrame(FAST_FRAME.exit, String(status)));
    else socket.end();
  });
}

export function serveLogPath(env: NodeJS.ProcessEnv): string {
  return join(resolvePaths(env).cacheDir, 'mlt-serve.log');
}

/** The `mlt serve` entry. Without --foreground: starts itself detached and prints the child's line. */
export async function serveCommand(argv: readonly string[], io: { env: NodeJS.ProcessEnv; out: (t: string) => void; err: (t: string) => void }): Promise<number> {
  let values: { idle?: string; log?: string; foreground?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { idle: { type: 'string' }, log: { type: 'string' }, foreground: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    io.err(`error: ${(error as Error).message} [USAGE]\nhint: mlt serve --help\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${SERVE_HELP}\n`);
    return 0;
  }
  const seconds = values.idle === undefined ? 3600 : Number(values.idle);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 7 * 86400) {
    io.err(`error: --idle must be a number of seconds from 1 to 604800 (got ${values.idle}) [USAGE]\nhint: mlt serve --help\n`);
    return 2;
  }
  const logFile = values.log ?? serveLogPath(io.env);
  if (values.foreground) return foreground(seconds * 1000, logFile, io);
  return detach(argv, logFile, io);
}

async function foreground(idleMs: number, logFile: string, io: { env: NodeJS.ProcessEnv; out: (t: string) => void }): Promise<number> {
  const log = (line: string) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} mlt serve[${process.pid}]: ${line}\n`, { mode: 0o600 });
    } catch {
      // A log that cannot be written must not stop the channel.
    }
  };
  const token = randomBytes(32).toString('hex');
  const closed = new Promise<void>((resolve) => {
    void startServer({ idleMs, token, log, cwd: io.env.HOME || homedir(), env: io.env, onClose: resolve }).then(({ port }) => {
      log(`listening on 127.0.0.1:${port}`);
      io.out(`${JSON.stringify({ port, token, pid: process.pid, features: FAST_FEATURES })}\n`);
    }, (error: unknown) => {
      log(`could not listen: ${(error as Error).message}`);
      io.out(`${JSON.stringify({ error: (error as Error).message })}\n`);
      resolve();
    });
  });
  await closed;
  return 0;
}

async function detach(argv: readonly string[], logFile: string, io: { out: (t: string) => void; err: (t: string) => void }): Promise<number> {
  mkdirSync(join(logFile, '..'), { recursive: true, mode: 0o700 });
  const logFd = openSync(logFile, 'a', 0o600);
  let isSea = false;
  try {
    isSea = (await import('node:sea')).isSea();
  } catch {
    // Not a single-executable application.
  }
  // The executable itself, or node and this script: the same program, in the foreground, in its own session.
  const self = isSea ? [] : [process.argv[1]!];
  const child = spawn(process.execPath, [...self, 'serve', '--foreground', '--log', logFile, ...argv], { detached: true, stdio: ['ignore', 'pipe', logFd] });
  const line = await new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(''), 15_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.slice(0, text.indexOf('\n')));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(text.split('\n')[0] ?? '');
    });
  });
  child.stdout!.destroy();
  child.unref();
  const parsed = (() => {
    try {
      return JSON.parse(line) as { port?: number; error?: string };
    } catch {
      return {};
    }
  })();
  if (typeof parsed.port !== 'number') {
    io.err(`error: the fast channel did not start${parsed.error ? `: ${parsed.error}` : ''} [SERVE_FAILED]\nhint: see ${logFile}\n`);
    return 1;
  }
  io.out(`${line}\n`);
  return 0;
}
