import { UserError } from '../../../core/errors.ts';
import { flagOption, stringOption, type CommandRun } from '../../command.ts';
import type { InstanceRecord } from '../../../orchestrators/provisioning/provisioning-orchestrator.ts';
import type { CommandContext } from '../../command.ts';
import { confirm, idleKeyConfigured, queryOptions, renderInstances, reportInstancesToRelay, usd } from './common.ts';

/** `90s`, `45m`, `2h` or plain minutes; 0 turns idle auto-stop off. */
export function parseIdleTimeout(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  const value = match ? Number(match[1]) : Number.NaN;
  if (!match || !Number.isFinite(value)) throw new UserError('USAGE', `--idle-timeout '${text}' is not a duration`, 'e.g. --idle-timeout 60 (minutes), 90s, 2h, or 0 for never');
  const minutes = match[2] === 's' ? value / 60 : match[2] === 'h' ? value * 60 : value;
  if (minutes !== 0 && minutes < 5 / 60) throw new UserError('USAGE', `--idle-timeout '${text}' is shorter than 5 s`, 'the watcher samples every few seconds: give at least 5s');
  return minutes;
}

/** provision.idle_key_on_host, else a question on a terminal when the action needs the key. */
async function idleKeyConsent(context: CommandContext, ready: InstanceRecord): Promise<boolean> {
  const configured = await idleKeyConfigured(context);
  if (configured !== undefined) return configured;
  if (!ready.idleTimeoutMinutes || ready.idleAction === 'notify' || !context.app.environment.interactive) return false;
  return confirm(context, `Place your ${ready.backend} API key on ${ready.name} (a 0600 file only its idle watcher reads) so it can ${ready.idleAction === 'terminate' ? 'terminate' : 'stop'} itself when idle?`, false)
    .catch(() => false);
}

export const run: CommandRun = async (context, input) => {
  const provisioning = await context.app.provisioning();
  const query = queryOptions(input);
  const offer = stringOption(input, 'offer');
  const name = stringOption(input, 'name');
  const connectAfter = !flagOption(input, 'no-connect');
  const attach = connectAfter && !flagOption(input, 'no-attach') && !context.globals.json && Boolean(context.stdin.isTTY);
  const yes = flagOption(input, 'yes');
  const idleText = stringOption(input, 'idle-timeout');
  const idleTimeoutMinutes = idleText === undefined ? undefined : parseIdleTimeout(idleText);
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
    ...(connection ? {
      afterReady: async (ready) => {
        // The agent is what stops an idle instance: provision installs it (with --yes, or asking once).
        const ask = context.app.environment.interactive ? { confirm: (question: string) => confirm(context, question, false) } : {};
        const connected = await connection.connect({ target: ready.name, detach: true, agent: { yes, ...ask } });
        const keyOnHost = flagOption(input, 'idle-key-on-host') || (await idleKeyConsent(context, ready));
        const idle = await connection.withSession(ready.name, (session) =>
          provisioning.armIdle(ready, session.place.host, { agentPath: connected.agent?.path, keyOnHost }));
        return { ...connected, idle };
      },
    } : {}),
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
