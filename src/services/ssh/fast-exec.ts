import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createFrameReader } from '../../core/frames.ts';
import { encodeEntries, entriesId } from '../../core/tree-digest.ts';
import { runProcess } from '../../infrastructure/process.ts';
import { FAST_FRAME, FAST_FRAME_LAYOUT, FAST_MAGIC, fastChannelRequest, fastHandshake, serverProved, type FastChannel, type FastContainerQuestion, type FastMode, type FastTreeQuestion } from './fast-channel.ts';

export interface FastExecIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HELLO_MAX_BYTES = 200;
/** A tree request's answer is a line or two (`send-list`, `digest <hex>`, `error <why>`). */
const TREE_REPLY_MAX_BYTES = 800;

/**
 * Runs a command line on the host through the fast channel (`ssh -W` to
 * `mlt serve`, framed; the handshake in fast-channel.ts): its stdout and
 * stderr land on ours, its exit status is returned. Undefined when the
 * command was not started (the channel does not answer, or what answers
 * cannot prove the token): none of our stdin was read and nothing of ours
 * was sent, so the caller can run it the usual way. 255 when the connection
 * ended before the status came back, as ssh reports it.
 */
export interface FastExecOptions {
  /** ssh's argv (after the program name) that opens the channel: options, -W 127.0.0.1:PORT, --, host. */
  sshArgs: readonly string[];
  channel: FastChannel;
  /** The command line, as sshd would get it. */
  command: string;
  /** Stream io.stdin to the command (else it gets EOF at once). */
  stdin: boolean;
  io?: FastExecIo;
  env?: NodeJS.ProcessEnv;
  /** Bound on the whole run; past it the channel is closed (the command ends). */
  timeoutMs?: number;
  forward?: FastForward;
}

/** What a caller of the SSH service's fast commands chooses (the service adds the way there, the channel and the environment). */
export type FastCallOptions = Omit<FastExecOptions, 'sshArgs' | 'channel' | 'command' | 'env'>;

export function fastExec(options: FastExecOptions): Promise<number | undefined> {
  return framed(options, 'framed').then((outcome) => (typeof outcome === 'number' ? outcome : undefined));
}

/** What a container exec through `mlt serve` asks (FastContainerQuestion), less what the channel adds. */
export interface FastContainerExecOptions extends Omit<FastExecOptions, 'command'> {
  question: FastContainerQuestion;
}

/**
 * Runs argv in a container through `mlt serve`, which calls the engine's API
 * on the host (no engine CLI, no shell). A number is the exit status;
 * `unavailable`: the channel did not answer (nothing ran, nothing of ours
 * was read); `refused`: the server could not start it (no such container,
 * an engine that refused the exec: nothing ran), so the engine's CLI, which
 * says why in its own words, should run it instead.
 */
export async function fastContainerExec(options: FastContainerExecOptions): Promise<number | 'unavailable' | { refused: string }> {
  const outcome = await framed({ ...options, command: JSON.stringify(options.question) }, 'container');
  return outcome === undefined ? 'unavailable' : outcome;
}

/** A framed request: the exit status, undefined when the channel did not start it, or what the server said when it refused it. */
function framed(options: FastExecOptions, mode: 'framed' | 'container'): Promise<number | undefined | { refused: string }> {
  const { stdin: withStdin } = options;
  const io = options.io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  return new Promise((resolve) => {
    // Set once the channel is open; the handlers below run only after that.
    let connection!: FastConnection;
    let started = false;
    let status: number | undefined;
    let refused: string | undefined;
    const stopStdin = () => {
      if (withStdin && started) {
        io.stdin.unpipe(connection.input);
        io.stdin.pause();
      }
    };
    const write = (stream: NodeJS.WritableStream, payload: Buffer) => {
      if (!stream.write(payload)) {
        connection.output.pause();
        stream.once('drain', () => connection.output.resume());
      }
    };
    const frames = createFrameReader(FAST_FRAME_LAYOUT, (type, payload) => {
      if (type === FAST_FRAME.started) {
        started = true;
        if (withStdin) io.stdin.pipe(connection.input);
        else connection.input.end();
      } else if (type === FAST_FRAME.stdout) write(io.stdout, payload);
      else if (type === FAST_FRAME.stderr) write(io.stderr, payload);
      else if (type === FAST_FRAME.refused && !started) {
        refused = payload.toString('utf8');
        connection.input.end();
      } else if (type === FAST_FRAME.exit) {
        status = Number(payload.toString());
        // The command is done: our end of the channel closes too, so ssh ends.
        stopStdin();
        connection.input.end();
      }
    });
    // Our stdout closed under us (`… | head -1`): end the channel; the server ends the command.
    const onOutputError = () => connection?.close();
    io.stdout.once('error', onOutputError);
    void openFastChannel({ ...options, mode }, (chunk) => frames.push(chunk)).then(async (opened) => {
      connection = opened;
      await connection.closed;
      stopStdin();
      io.stdout.off('error', onOutputError);
      if (refused !== undefined) resolve({ refused });
      else resolve(started ? (status !== undefined && Number.isInteger(status) ? status : 255) : undefined);
    });
  });
}

export interface FastTreeOptions extends Pick<FastExecOptions, 'sshArgs' | 'channel' | 'env' | 'timeoutMs' | 'forward'> {
  /** The host folder, as a push names it. */
  root: string;
  entries: readonly string[];
}

/**
 * The host's treeDigest of `entries` under `root`, asked of `mlt serve`
 * (a `tree` request; the list is sent only when the server does not hold
 * it yet). Undefined when the channel does not answer or the server could
 * not work it out: the caller then simply runs rsync.
 */
export function fastTreeDigest(options: FastTreeOptions): Promise<string | undefined> {
  const question: FastTreeQuestion = { root: options.root, list: entriesId(options.entries) };
  return new Promise((resolve) => {
    let text = '';
    let digest: string | undefined;
    let connection!: FastConnection;
    const onReply = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.length > TREE_REPLY_MAX_BYTES) connection.close();
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n')) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        if (line === 'send-list') {
          const zlib = process.getBuiltinModule('node:zlib');
          connection.input.end(zlib.gzipSync(encodeEntries(options.entries)));
        } else {
          const match = /^digest ([0-9a-f]{64})$/.exec(line);
          digest = match?.[1];
          connection.input.end();
        }
      }
    };
    void openFastChannel({ ...options, mode: 'tree', command: JSON.stringify(question) }, onReply).then(async (opened) => {
      connection = opened;
      await connection.closed;
      resolve(digest);
    });
  });
}

/** A local socket the master forwards to the server (`ssh -O forward -L`), tried before a new `ssh -W`, and ssh's argv that adds it. */
export interface FastForward {
  socket: string;
  addArgs: readonly string[];
}

/** The stream to the server, whichever way it was opened. */
interface FastConnection {
  input: NodeJS.WritableStream;
  output: NodeJS.ReadableStream;
  /** Ends the channel at once (the server then ends its command). */
  close(): void;
  /** Settles when the channel has ended. */
  closed: Promise<void>;
}

/**
 * Opens the fast channel, checks the server's proof before anything of ours
 * is sent, then sends the request. `reply` gets the server's bytes after its
 * proof. `closed` settles when the channel ends (at once when it does not
 * answer, or what answers cannot prove the token).
 *
 * The way there: the master's forwarded local socket when the caller has one
 * (no process to start; it is added to the master the first time, and again
 * after the master was replaced), else `ssh -W` through the master.
 */
async function openFastChannel(options: Pick<FastExecOptions, 'sshArgs' | 'channel' | 'command' | 'env' | 'timeoutMs' | 'forward'> & { mode: FastMode }, reply: (chunk: Buffer) => void): Promise<FastConnection> {
  const connection = (options.forward && (await forwarded(options.forward, options.env))) ?? sshChannel(options.sshArgs, options.env);
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => connection.close(), options.timeoutMs);
  void connection.closed.then(() => clearTimeout(timer));
  const handshake = fastHandshake(options.channel);
  let hello: Buffer | undefined = Buffer.alloc(0);
  connection.input.on('error', () => undefined);
  connection.input.write(`${FAST_MAGIC}${handshake.nonce}\n`);
  connection.output.on('data', (chunk: Buffer) => {
    if (!hello) return reply(chunk);
    // The server's hello first: checked before anything of ours is sent.
    hello = Buffer.concat([hello, chunk]);
    const newline = hello.indexOf(0x0a);
    if (newline < 0) {
      if (hello.length > HELLO_MAX_BYTES) connection.close();
      return;
    }
    const proved = serverProved(handshake, hello.subarray(0, newline).toString('latin1'));
    const rest = hello.subarray(newline + 1);
    hello = undefined;
    if (!proved) {
      connection.close();
      return;
    }
    connection.input.write(fastChannelRequest(handshake, options.command, options.mode));
    if (rest.length) reply(rest);
  });
  return connection;
}

function sshChannel(sshArgs: readonly string[], env: NodeJS.ProcessEnv | undefined): FastConnection {
  const child = spawn('ssh', [...sshArgs], { stdio: ['pipe', 'pipe', 'ignore'], env: env ?? process.env });
  const closed = new Promise<void>((resolve) => {
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
  return { input: child.stdin, output: child.stdout, close: () => child.kill('SIGTERM'), closed };
}

/** The forwarded socket, connected; added to the master first when it is not there. Undefined when neither works. */
async function forwarded(forward: FastForward, env: NodeJS.ProcessEnv | undefined): Promise<FastConnection | undefined> {
  const first = await connectSocket(forward.socket);
  if (first.connection) return first.connection;
  // Refused: the file of a master that has since exited (ours, in our private folder). The new master cannot bind over it.
  if (first.code === 'ECONNREFUSED') rmSync(forward.socket, { force: true });
  // Its outcome is the connect below (another process may have added it at the same moment).
  await runProcess('ssh', forward.addArgs, { env: env ?? process.env, timeoutMs: FORWARD_TIMEOUT_MS }).catch(() => undefined);
  return (await connectSocket(forward.socket)).connection;
}

function connectSocket(path: string): Promise<{ connection?: FastConnection; code?: string }> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ code: error.code ?? 'ERROR' }));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => socket.destroy());
      resolve({ connection: { input: socket, output: socket, close: () => socket.destroy(), closed } });
    });
  });
}

/** `ssh -O forward` only talks to the local master. */
const FORWARD_TIMEOUT_MS = 10_000;
