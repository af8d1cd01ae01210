import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { UserError } from '../../core/errors.ts';

type TtyInput = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown; isRaw?: boolean };

export interface HiddenPromptOptions {
  question: string;
  stdin: TtyInput;
  /** The question goes to stderr so stdout stays clean for results. */
  stderr: Writable;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * Reads one line from a terminal without echoing it: raw mode, so the
 * terminal shows nothing, and we handle Enter, Backspace, Ctrl-C and Ctrl-D
 * ourselves. The typed text is never written anywhere.
 */
export function readHidden(options: HiddenPromptOptions): Promise<string> {
  const { stdin, stderr, question } = options;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') {
    return Promise.reject(new UserError('SECRET_PASSPHRASE_REQUIRED', 'cannot prompt: standard input is not a terminal',
      'pipe the value on stdin, or set MLTOOLBOX_SECRET_PASSPHRASE for the passphrase'));
  }
  const setRawMode = stdin.setRawMode.bind(stdin);
  return new Promise((resolve, reject) => {
    const wasRaw = Boolean(stdin.isRaw);
    let typed = '';
    const decoder = new StringDecoder('utf8');
    const finish = (error: Error | undefined) => {
      stdin.off('data', onData);
      setRawMode(wasRaw);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      // A paste arrives as one chunk: walk it character by character.
      for (const char of typeof chunk === 'string' ? chunk : decoder.write(chunk)) {
        if (char === '\r' || char === '\n') return finish(undefined);
        if (char === CTRL_C) return finish(new UserError('INTERRUPTED', 'cancelled at the prompt', 'run the command again when you are ready'));
        if (char === CTRL_D) {
          if (typed.length === 0) return finish(new UserError('INTERRUPTED', 'no input at the prompt (Ctrl-D)', 'run the command again and type a value'));
          return finish(undefined);
        }
        if (BACKSPACE.has(char)) typed = Array.from(typed).slice(0, -1).join('');
        else if (char >= ' ') typed += char;
      }
    };
    stderr.write(question);
    setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Reads all of a piped stdin; one trailing newline (from `echo`) is not part of the value. */
export async function readPipedValue(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const text = Buffer.concat(chunks).toString('utf8');
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
