/**
 * Reads the engine's build output: newline-delimited JSON messages
 * ({stream}, {status}, {aux: {ID}}, {error, errorDetail}), turning them into
 * text lines, and remembering what a failure report needs — the step that
 * was running and the last lines it printed.
 */
export interface BuildOutcome {
  imageId: string | undefined;
  error: string | undefined;
  /** "Step 3/5 : RUN make" — the last step the engine started. */
  step: string | undefined;
  /** The last lines of output (bounded), for the error report. */
  tail: string[];
}

const TAIL_LINES = 20;

export function createBuildProgressParser(onLine: (line: string) => void): { push(data: Buffer | string): void; end(): BuildOutcome } {
  let buffered = '';
  let text = '';
  const outcome: BuildOutcome = { imageId: undefined, error: undefined, step: undefined, tail: [] };

  function emitLine(line: string): void {
    if (/^Step \d+\/\d+ : /.test(line)) outcome.step = line;
    const built = /^Successfully built ([0-9a-f]{12,64})$/.exec(line);
    if (built && !outcome.imageId) outcome.imageId = built[1];
    outcome.tail.push(line);
    if (outcome.tail.length > TAIL_LINES) outcome.tail.shift();
    onLine(line);
  }

  function handleText(chunk: string, flush: boolean): void {
    text += chunk;
    const lines = text.split(/\r?\n/);
    text = flush ? '' : lines.pop()!;
    for (const line of lines) if (line.trim() !== '') emitLine(line.replace(/\s+$/, ''));
  }

  function handleMessage(raw: string): void {
    let message: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch {
      handleText(`${raw}\n`, false); // not JSON: show it as it came
      return;
    }
    if (typeof message.stream === 'string') handleText(message.stream, false);
    if (typeof message.status === 'string') handleText(`${message.status}\n`, false);
    if (message.aux?.ID) outcome.imageId = message.aux.ID;
    const error = message.errorDetail?.message ?? message.error;
    if (typeof error === 'string') {
      handleText('', true);
      outcome.error = error.trim();
    }
  }

  return {
    push(data) {
      buffered += data.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const part of parts) if (part.trim() !== '') handleMessage(part);
    },
    end() {
      if (buffered.trim() !== '') handleMessage(buffered);
      buffered = '';
      handleText('', true);
      return outcome;
    },
  };
}
