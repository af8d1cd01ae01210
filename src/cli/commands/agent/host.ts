import { UserError } from '../../../core/errors.ts';
import { findLocalAgent, probeAgent, type LocalAgent, type RemoteAgent } from '../../../orchestrators/agent/agent-installer.ts';
import type { ProjectSession } from '../../../orchestrators/connection/connection-orchestrator.ts';
import { stringArg, type CommandContext, type CommandInput } from '../../command.ts';

export interface AgentHost {
  session: ProjectSession;
  local: LocalAgent | undefined;
  remote: RemoteAgent;
}

/** Opens the target's SSH connection, finds the local build and asks the host what it has. */
export async function withAgentHost<T>(context: CommandContext, input: CommandInput, work: (host: AgentHost) => Promise<T>): Promise<T> {
  const connection = await context.app.connection();
  return connection.withSession(stringArg(input, 'target'), async (session) => {
    if (session.place.host.local) {
      throw new UserError('USAGE', 'the mlt agent is for remote hosts; the local target needs none', 'name a host: mltoolbox agent install HOST');
    }
    const [local, remote] = await Promise.all([
      findLocalAgent(context.app.environment.env),
      probeAgent(session.place.host, session.loaded.config.agent?.install_dir),
    ]);
    return work({ session, local, remote });
  });
}
