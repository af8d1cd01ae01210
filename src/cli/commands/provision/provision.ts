import { UserError } from '../../../core/errors.ts';
import { flagOption, stringOption, type CommandRun } from '../../command.ts';
import { confirm, queryOptions, renderInstances, reportInstancesToRelay, usd } from './common.ts';

export const run: CommandRun = async (context, input) => {
  const provisioning = await context.app.provisioning();
  const query = queryOptions(input);
  const offer = stringOption(input, 'offer');
  const name = stringOption(input, 'name');
  const connectAfter = !flagOption(input, 'no-connect');
  const attach = connectAfter && !flagOption(input, 'no-attach') && !context.globals.json && Boolean(context.stdin.isTTY);
  const yes = flagOption(input, 'yes');
  const idleText = stringOption(input, 'idle-timeout');
  const idleTimeoutMinutes = idleText === undefined ? undefined : Number(idleText);
  if (idleTimeoutMinutes !== undefined && !(Number.isInteger(idleTimeoutMinutes) && idleTimeoutMinutes >= 0)) {
    throw new UserError('USAGE', `--idle-timeout '${idleText}' is not a whole number of minutes`, 'e.g. --idle-timeout 60, or 0 for never');
  }
  const idleAction = stringOption(input, 'idle-action');
  if (idleAction !== undefined && !['stop', 'terminate', 'notify'].includes(idleAction)) {
    throw new UserError('USAGE', `--idle-action '${idleAction}' is not stop, terminate or notify`, 'e.g. --idle-action terminate');
  }
  const connection = connectAfter ? await context.app.connection() : undefined;
  const outcome = await provisioning.provision({
    ...query,
    // Money is about to be spent: say on what, and ask (without a terminal, --yes is required).
    confirm: (pick) => confirm(context, `Launch ${pick.gpuCount}x ${pick.gpu} on ${pick.backend} (${pick.region}) at ${usd(pick.pricePerHour)}/h?`, yes),
    ...(offer ? { offerId: offer } : {}),
    ...(name ? { name } : {}),
    ...(idleTimeoutMinutes !== undefined ? { idleTimeoutMinutes } : {}),
    ...(idleAction ? { idleAction } : {}),
    ...(connection ? { afterReady: (ready) => connection.connect({ target: ready.name, detach: true }) } : {}),
  });
  if ('cancelled' in outcome) return { result: { cancelled: true }, human: () => 'cancelled: nothing launched' };
  const { instance, connected } = outcome;
  await reportInstancesToRelay(context);
  const view = provisioning.view(instance);
  const lines = [renderInstances([view]), `  ssh      ${instance.sshUser}@${instance.sshHost}:${instance.sshPort} (saved as remote ${instance.name})`,
    `  stop it  mltoolbox instances terminate ${instance.name}`];
  if (!attach) return { result: { instance: view, ...(connected ? { connect: connected } : {}) }, human: () => lines.join('\n') };
  context.stderr.write(`${lines.join('\n')}\n`);
  try {
    return { result: { instance: view, connect: connected }, exitCode: await connection!.shell(instance.name, true) };
  } finally {
    await connection!.ports.releaseSession();
  }
};
