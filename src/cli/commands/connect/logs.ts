import { UserError } from '../../../core/errors.ts';
import { flagOption, stringArg, stringOption, type CommandContext, type CommandRun } from '../../command.ts';

/** The relay's API reads at most this many lines at once (docs/relay.md). */
const RELAY_MAX_TAIL = 10_000;

export const run: CommandRun = async (context, input) => {
  const tailText = stringOption(input, 'tail');
  const tail = tailText === undefined ? undefined : Number(tailText);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UserError('USAGE', `--tail ${tailText} is not a number of lines`, 'for example: --tail 100');
  const target = stringArg(input, 'target');
  const follow = flagOption(input, 'follow');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    // A configured relay answers first (its agent reads the log); down, slow or without the container, the host is asked over SSH.
    if (await viaRelay(context, target, { follow, tail: Math.min(tail ?? RELAY_MAX_TAIL, RELAY_MAX_TAIL), signal: controller.signal })) return { result: { via: 'relay' } };
    const connection = await context.app.connection();
    await connection.logs(target, { follow, ...(tail !== undefined ? { tail } : {}), signal: controller.signal },
      (stream, data) => (stream === 'stdout' ? context.stdout : context.stderr).write(data));
  } finally {
    process.off('SIGINT', stop);
  }
  return { result: { via: 'ssh' } };
};

/** Prints the log through the relay; false (after one note line) when the relay had no answer. */
async function viaRelay(context: CommandContext, target: string | undefined, options: { follow: boolean; tail: number; signal: AbortSignal }): Promise<boolean> {
  const relay = await context.app.relay();
  const reached = await relay.containersSource();
  if (!reached) return false;
  const connection = await context.app.connection();
  const found = await connection.logsFrom(target, options.follow ? 0 : options.tail, reached.source);
  let why: string | undefined = found ? undefined : reached.reason();
  if (found && !options.follow) {
    if (found.text) context.stdout.write(found.text.endsWith('\n') ? found.text : `${found.text}\n`);
    return true;
  }
  if (found) {
    const followed = await relay.followLogs(found.target, found.container, options.tail, (lines) => context.stdout.write(`${lines.join('\n')}\n`), options.signal);
    if (followed.started) return true;
    why = followed.reason ?? 'no log stream';
  }
  if (why) context.reporter.info(`relay: ${why}; asking the host over SSH`);
  return false;
}
