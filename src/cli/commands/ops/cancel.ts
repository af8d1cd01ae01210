import { ExitCode } from '../../../core/exit-codes.ts';
import { flagOption, type CommandRun } from '../../command.ts';
import { operationId } from './watch.ts';

/** How long `ops cancel` waits for the worker to say it stopped (a provision terminating its instance takes a while). */
const STOP_WAIT_MS = 180_000;

export const run: CommandRun = async (context, input) => {
  const id = operationId(input);
  const relay = await context.app.relay();
  const asked = await relay.cancelOperation(id);
  context.reporter.info(`asked ${id} (${asked.title}) to stop${asked.worker ? ` (worker pid ${asked.worker.pid} on ${asked.worker.machine})` : ''}`);
  if (flagOption(input, 'no-wait')) {
    return { result: { operation: id, state: asked.state }, human: () => `${id} ${asked.state}\nfollow it with: mltoolbox ops watch ${id}` };
  }
  // Follow it until it has stopped: Ctrl-C (or the bound) leaves it stopping on its own.
  const controller = new AbortController();
  const detach = () => controller.abort();
  process.prependOnceListener('SIGINT', detach);
  const bound = setTimeout(detach, STOP_WAIT_MS);
  let final;
  try {
    final = await relay.watchOperation(id, (events) => {
      for (const event of events) if (event.level !== 'progress') context.reporter.info(event.text);
    }, controller.signal);
  } finally {
    clearTimeout(bound);
    process.off('SIGINT', detach);
  }
  if (!final) {
    return { result: { operation: id, state: 'cancelling' }, exitCode: ExitCode.userError, human: () => `${id} is still stopping; mltoolbox ops watch ${id} follows it` };
  }
  const stopped = final.state === 'cancelled';
  return {
    result: { operation: id, state: final.state, error: final.error },
    ...(stopped ? {} : { exitCode: ExitCode.userError }),
    human: () => (stopped
      ? `${id} cancelled${final.error ? ` (${final.error.message})` : ''}`
      : `${id} ${final.state} before it could be stopped${final.state === 'lost' ? ' (its worker stopped reporting)' : ''}`),
  };
};
