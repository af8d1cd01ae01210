import { removeAgent } from '../../../orchestrators/agent/agent-installer.ts';
import type { CommandRun } from '../../command.ts';
import { withAgentHost } from './host.ts';

export const run: CommandRun = (context, input) =>
  withAgentHost(context, input, async ({ session, remote }) => {
    const removed = await removeAgent(session.place.host, remote);
    return {
      result: { target: session.place.name, path: remote.path, removed },
      human: () => (removed ? `removed ${session.place.name}:${remote.path}` : `no mlt at ${session.place.name}:${remote.path}; nothing to remove`),
    };
  });
