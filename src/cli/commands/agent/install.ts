import { UserError } from '../../../core/errors.ts';
import { agentVersionLine, decideAgent, installAgent } from '../../../orchestrators/agent/agent-installer.ts';
import type { CommandRun } from '../../command.ts';
import { withAgentHost } from './host.ts';

export const run: CommandRun = (context, input) =>
  withAgentHost(context, input, async ({ session, local, remote }) => {
    const host = session.place.name;
    if (!local) throw new UserError('AGENT_NOT_BUILT', 'this mltoolbox has no mlt agent built', 'run npm run build:agent in the mltoolbox checkout');
    const decision = decideAgent(local.manifest, remote);
    if (decision.action === 'unsupported') throw new UserError('AGENT_UNSUPPORTED_HOST', decision.why, 'the rest of mltoolbox works without the agent');
    if (decision.action === 'current') {
      return { result: { target: host, action: 'current', path: remote.path, version: remote.installed, bytes: 0 }, human: () => `mlt ${remote.installed} is already at ${host}:${remote.path}` };
    }
    if (decision.action === 'newer-on-host') context.reporter.warn(`${host} has a newer mlt (${decision.installed}); installing this mltoolbox's ${local.manifest.version} as asked`);
    const done = await context.reporter.task(`Installing mlt ${agentVersionLine(local.manifest)} on ${host}`, () => installAgent(session.place.host, local, remote));
    const action = remote.installed === undefined ? 'installed' : 'upgraded';
    return {
      result: { target: host, action, path: done.path, version: done.version, bytes: done.bytes, ms: done.ms },
      human: () => `mlt ${done.version} ${action} at ${host}:${done.path} (${(done.bytes / 1024 ** 2).toFixed(1)} MiB in ${(done.ms / 1000).toFixed(1)} s)`,
    };
  });
