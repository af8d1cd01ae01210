import { spawn } from 'node:child_process';
import { createFrameReader } from '../../core/frames.ts';
import { FAST_FRAME, FAST_FRAME_LAYOUT, fastChannelRequest, type FastChannel } from '../ssh/fast-channel.ts';


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
    child.stdout.on('data', (chunk: Buffer) => frames.push(chunk));
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
