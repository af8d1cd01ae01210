import { spawn } from 'node:child_process';
import { createFrameReader } from '../../core/frames.ts';
import { encodeEntries, entriesId } from '../../core/tree-digest.ts';
import { FAST_FRAME, FAST_FRAME_LAYOUT, FAST_MAGIC, fastChannelRequest, fastHandshake, serverProved, type FastChannel, type FastMode, type FastTreeQuestion } from './fast-channel.ts';

export interface FastExecIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HELLO_MAX_BYTES = 200;

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
}

export function fastExec(options: FastExecOptions): Promise<number | undefined> {
  const { stdin: withStdin } = options;
  const io = options.io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  return new Promise((resolve) => {
    let started = false;
    let status: number | undefined;
    const stopStdin = () => {
      if (withStdin && started) {
        io.stdin.unpipe(connection.child.stdin);
        io.stdin.pause();
      }
    };
    const write = (stream: NodeJS.WritableStream, payload: Buffer) => {
      if (!stream.write(payload)) {
        connection.child.stdout.pause();
        stream.once('drain', () => connection.child.stdout.resume());
      }
    };
    const frames = createFrameReader(FAST_FRAME_LAYOUT, (type, payload) => {
      if (type === FAST_FRAME.started) {
        started = true;
        if (withStdin) io.stdin.pipe(connection.child.stdin);
        else connection.child.stdin.end();
      } else if (type === FAST_FRAME.stdout) write(io.stdout, payload);
      else if (type === FAST_FRAME.stderr) write(io.stderr, payload);
      else if (type === FAST_FRAME.exit) {
        status = Number(payload.toString());
        // The command is done: our end of the channel closes too, so ssh ends.
        stopStdin();
        connection.child.stdin.end();
      }
    });
    const connection = openFastChannel({ ...options, mode: 'framed' }, (chunk) => frames.push(chunk));
    // Our stdout closed under us (`… | head -1`): end the channel; the server ends the command.
    const onOutputError = () => connection.child.kill('SIGTERM');
    io.stdout.once('error', onOutputError);
    void connection.closed.then(() => {
      stopStdin();
      io.stdout.off('error', onOutputError);
      resolve(started ? (status !== undefined && Number.isInteger(status) ? status : 255) : undefined);
    });
  });
}

export interface FastTreeOptions extends Pick<FastExecOptions, 'sshArgs' | 'channel' | 'env' | 'timeoutMs'> {
  /** The host folder, as a push names it. */
  root: string;
  entries: readonly string[];
  /** entriesId(entries), when the caller has it. */
  listId?: string;
}

/**
 * The host's treeDigest of `entries` under `root`, asked of `mlt serve`
 * (a `tree` request; the list is sent only when the server does not hold
 * it yet). Undefined when the channel does not answer or the server could
 * not work it out: the caller then simply runs rsync.
 */
export function fastTreeDigest(options: FastTreeOptions): Promise<string | undefined> {
  const listId = options.listId ?? entriesId(options.entries);
  const question: FastTreeQuestion = { root: options.root, list: listId };
  return new Promise((resolve) => {
    let text = '';
    let digest: string | undefined;
    const connection = openFastChannel({ ...options, mode: 'tree', command: JSON.stringify(question) }, (chunk) => {
      text += chunk.toString('utf8');
      if (text.length > HELLO_MAX_BYTES * 4) connection.child.kill('SIGTERM');
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n')) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        if (line === 'send-list') {
          const zlib = process.getBuiltinModule('node:zlib');
          connection.child.stdin.end(zlib.gzipSync(encodeEntries(options.entries)));
        } else {
          const match = /^digest ([0-9a-f]{64})$/.exec(line);
          digest = match?.[1];
          connection.child.stdin.end();
        }
      }
    });
    void connection.closed.then(() => resolve(digest));
  });
}

/**
 * Opens the fast channel (`ssh -W` to `mlt serve`), checks the server's
 * proof before anything of ours is sent, then sends the request. `reply`
 * gets the server's bytes after its proof. `closed` settles when ssh ends
 * (a channel that does not answer, or a server that cannot prove the token,
 * ends it at once).
 */
function openFastChannel(options: Pick<FastExecOptions, 'sshArgs' | 'channel' | 'command' | 'env' | 'timeoutMs'> & { mode: FastMode }, reply: (chunk: Buffer) => void) {
  const child = spawn('ssh', [...options.sshArgs], { stdio: ['pipe', 'pipe', 'ignore'], env: options.env ?? process.env });
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
  const handshake = fastHandshake(options.channel);
  let hello: Buffer | undefined = Buffer.alloc(0);
  child.stdin.on('error', () => undefined);
  child.stdin.write(`${FAST_MAGIC}${handshake.nonce}\n`);
  child.stdout.on('data', (chunk: Buffer) => {
    if (!hello) return reply(chunk);
    // The server's hello first: checked before anything of ours is sent.
    hello = Buffer.concat([hello, chunk]);
    const newline = hello.indexOf(0x0a);
    if (newline < 0) {
      if (hello.length > HELLO_MAX_BYTES) child.kill('SIGTERM');
      return;
    }
    const proved = serverProved(handshake, hello.subarray(0, newline).toString('latin1'));
    const rest = hello.subarray(newline + 1);
    hello = undefined;
    if (!proved) {
      child.kill('SIGTERM');
      return;
    }
    child.stdin.write(fastChannelRequest(handshake, options.command, options.mode));
    if (rest.length) reply(rest);
  });
  const closed = new Promise<void>((resolve) => {
    child.on('error', () => resolve());
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { child, closed };
}
