import { agentVersionLine, decideAgent } from '../../../orchestrators/agent/agent-installer.ts';
import type { CommandRun } from '../../command.ts';
import { withAgentHost } from './host.ts';

export const run: CommandRun = (context, input) =>
  withAgentHost(context, input, async ({ session, local, remote }) => {
    const decision = local ? decideAgent(local.manifest, remote) : undefined;
    const result = {
      target: session.place.name,
      system: remote.system,
      path: remote.path,
      installed: remote.installed ?? null,
      local: local ? agentVersionLine(local.manifest) : null,
      action: decision?.action ?? 'unsupported',
    };
    const next: Record<string, string> = {
      current: 'up to date',
      install: 'not installed: mltoolbox agent install (or connect --yes) installs it',
      upgrade: `older than this mltoolbox's ${result.local}: mltoolbox agent install upgrades it`,
      'newer-on-host': 'newer than this mltoolbox: upgrade mltoolbox here',
      unsupported: decision?.action === 'unsupported' ? decision.why : 'no agent is built into this mltoolbox',
    };
    return {
      result,
      human: () => [`host       ${result.target} (${result.system})`, `agent      ${result.installed ?? 'none'} at ${result.path}`, `state      ${next[result.action]}`].join('\n'),
    };
  });
