import { spawn } from 'node:child_process';
import { createFrameReader } from '../../core/frames.ts';
import { FAST_FRAME, FAST_FRAME_LAYOUT, FAST_MAGIC, fastChannelRequest, fastHandshake, serverProved, type FastChannel } from './fast-channel.ts';

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
  const { channel, command, stdin: withStdin } = options;
  const io = options.io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  return new Promise((resolve) => {
    const child = spawn('ssh', [...options.sshArgs], { stdio: ['pipe', 'pipe', 'ignore'], env: options.env ?? process.env });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    const handshake = fastHandshake(channel);
    let hello: Buffer | undefined = Buffer.alloc(0);
    let started = false;
    let status: number | undefined;
    child.stdin.on('error', () => undefined);
    child.stdin.write(`${FAST_MAGIC}${handshake.nonce}\n`);
    const stopStdin = () => {
      if (withStdin && started) {
        io.stdin.unpipe(child.stdin);
        io.stdin.pause();
      }
    };
    // Our stdout closed under us (`… | head -1`): end the channel; the server ends the command.
    const onOutputError = () => child.kill('SIGTERM');
    io.stdout.once('error', onOutputError);
    const write = (stream: NodeJS.WritableStream, payload: Buffer) => {
      if (!stream.write(payload)) {
        child.stdout.pause();
        stream.once('drain', () => child.stdout.resume());
      }
    };
    const frames = createFrameReader(FAST_FRAME_LAYOUT, (type, payload) => {
      if (type === FAST_FRAME.started) {
        started = true;
        if (withStdin) io.stdin.pipe(child.stdin);
        else child.stdin.end();
      } else if (type === FAST_FRAME.stdout) write(io.stdout, payload);
      else if (type === FAST_FRAME.stderr) write(io.stderr, payload);
      else if (type === FAST_FRAME.exit) {
        status = Number(payload.toString());
        // The command is done: our end of the channel closes too, so ssh ends.
        stopStdin();
        child.stdin.end();
      }
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!hello) return frames.push(chunk);
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
      child.stdin.write(fastChannelRequest(handshake, command, 'framed'));
      if (rest.length) frames.push(rest);
    });
    child.on('error', () => resolve(undefined));
    child.on('close', () => {
      clearTimeout(timer);
      stopStdin();
      io.stdout.off('error', onOutputError);
      resolve(started ? (status !== undefined && Number.isInteger(status) ? status : 255) : undefined);
    });
  });
}
