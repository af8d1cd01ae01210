import { spawn } from 'node:child_process';
import { fastChannelRequest, type FastChannel } from '../ssh/fast-channel.ts';

/** Frame types from `mlt serve` (src/agent/serve.ts FRAME): type (1 byte), length (u32 BE), payload. */
const STARTED = 0;
const STDOUT = 1;
const STDERR = 2;
const EXIT = 3;

export interface FastExecIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Runs a command line on the host through the fast channel (`ssh -W` to
 * `mlt serve`, framed): its stdout and stderr land on ours, its exit status
 * is returned. Undefined when the channel did not start the command (not
 * answering, token refused): nothing ran and none of our stdin was read, so
 * the caller can run it the usual way. 255 when the connection ended before
 * the status came back, as ssh reports it.
 */
export function fastExec(sshArgs: readonly string[], channel: FastChannel, command: string, withStdin: boolean,
  io: FastExecIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [...sshArgs], { stdio: ['pipe', 'pipe', 'ignore'], env });
    let started = false;
    let status: number | undefined;
    let pending: Buffer = Buffer.alloc(0);
    child.stdin.on('error', () => undefined);
    child.stdin.write(fastChannelRequest(channel, command, 'framed'));
    const stopStdin = () => {
      if (withStdin) {
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
    child.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const type = pending[0];
        const payload = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        if (type === STARTED) {
          started = true;
          if (withStdin) io.stdin.pipe(child.stdin);
          else child.stdin.end();
        } else if (type === STDOUT) write(io.stdout, payload);
        else if (type === STDERR) write(io.stderr, payload);
        else if (type === EXIT) {
          status = Number(payload.toString());
          // The command is done: our end of the channel closes too, so ssh ends.
          stopStdin();
          child.stdin.end();
        }
      }
    });
    child.on('error', () => {
      stopStdin();
      resolve(undefined);
    });
    child.on('close', () => {
      stopStdin();
      io.stdout.off('error', onOutputError);
      resolve(started ? (status !== undefined && Number.isInteger(status) ? status : 255) : undefined);
    });
  });
}
