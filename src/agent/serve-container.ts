import type { Socket } from 'node:net';
import { createFrameReader, DOCKER_FRAME_LAYOUT } from '../core/frames.ts';
import { FAST_FRAME, fastFrame, parseFastQuestion, sendFrame, type FastContainerQuestion } from '../services/ssh/fast-channel.ts';
import { attachExec, createExec, execExitCode } from './daemon/docker.ts';
import type { Request } from './serve.ts';

/**
 * `mlt serve`'s `container` requests (framed, like exec's; protocol in
 * fast-channel.ts): argv run in a container through the engine's API on
 * this host, so `mltoolbox exec` pays for neither a shell nor the engine's
 * CLI. Anything that stops the exec before it starts (no such container,
 * an engine that refuses) is answered `refused`, and the client runs the
 * engine's CLI instead, which says why in its own words.
 */
export function parseContainerQuestion(text: string): FastContainerQuestion {
  const { socket, id, argv, env, workdir, user, stdin } = parseFastQuestion(text, 'container');
  const nonEmpty = (v: unknown) => typeof v === 'string' && v !== '' && !v.includes('\0');
  if (!nonEmpty(socket) || !(socket as string).startsWith('/')) throw new Error('a container request without an engine socket');
  if (!nonEmpty(id)) throw new Error('a container request without a container');
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((word) => typeof word === 'string')) throw new Error('a container request without a command');
  if (env !== undefined && (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string'))) throw new Error('a container request with a malformed environment');
  if ((workdir !== undefined && !nonEmpty(workdir)) || (user !== undefined && !nonEmpty(user))) throw new Error('a container request with a malformed folder or user');
  return {
    socket: socket as string, id: id as string, argv: argv as string[], stdin: stdin === true,
    ...(env ? { env: env as Record<string, string> } : {}), ...(workdir ? { workdir: workdir as string } : {}), ...(user ? { user: user as string } : {}),
  };
}

export function runInContainer(socket: Socket, request: Request, log: (line: string) => void): void {
  socket.pause(); // stdin comes only after `started`
  const refuse = (why: string) => {
    log(`container: ${why}`);
    socket.end(fastFrame(FAST_FRAME.refused, why));
  };
  let question: FastContainerQuestion;
  try {
    question = parseContainerQuestion(request.command);
  } catch (error) {
    refuse((error as Error).message);
    return;
  }
  const docker = { socketPath: question.socket };
  void (async () => {
    let execId: string;
    let attached: Awaited<ReturnType<typeof attachExec>>;
    try {
      execId = await createExec(docker, question.id, question);
      attached = await attachExec(docker, execId);
    } catch (error) {
      refuse((error as Error).message);
      return;
    }
    socket.write(fastFrame(FAST_FRAME.started));
    const { output, input } = attached;
    if (question.stdin && input) {
      if (request.rest.length) input.write(request.rest);
      socket.pipe(input); // the client's end of stdin half-closes the engine's connection: the command sees EOF
    } else {
      socket.resume(); // nothing to forward; still read, to see the client go
    }
    const frames = createFrameReader(DOCKER_FRAME_LAYOUT, (stream, payload) => sendFrame(socket, stream === 2 ? FAST_FRAME.stderr : FAST_FRAME.stdout, payload, output));
    // What came with the upgrade first, then the rest of the stream.
    if (attached.head.length) frames.push(attached.head);
    output.on('data', (chunk: Buffer) => frames.push(chunk));
    // The client went: stop reading the exec's output (the command itself runs on, as when the engine's CLI is killed).
    socket.once('close', () => (output as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.());
    output.once('error', () => undefined);
    await new Promise<void>((resolve) => {
      output.once('end', resolve);
      output.once('close', resolve);
    });
    if (socket.destroyed) return;
    const status = await execExitCode(docker, execId).catch((error: unknown) => {
      log(`container: no exit status: ${(error as Error).message}`);
      return -1;
    });
    socket.end(fastFrame(FAST_FRAME.exit, String(status < 0 ? 255 : status)));
  })();
}
