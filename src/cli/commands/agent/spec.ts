import type { ArgSpec, CommandSpec } from '../../command.ts';

const TARGET: ArgSpec = { name: 'target', description: "The host (ssh alias, [user@]host[:port] or a saved remote). Default: the project's last one" };

export const agentInstallSpec: CommandSpec = {
  name: 'agent install',
  group: 'Hosts',
  summary: 'Install or upgrade the mlt agent on a host over the SSH connection (nothing is downloaded there)',
  description: 'Uploads the self-contained mlt executable for the host\'s architecture (gzip), checks its sha256 on the host and renames it into ' +
    '~/.local/bin/mlt (/usr/local/bin as root, or agent.install_dir). A current agent uploads nothing. See docs/agent.md.',
  args: [TARGET],
  examples: ['mltoolbox agent install gpu-box', 'mltoolbox agent install'],
  load: () => import('./install.ts'),
};

export const agentStatusSpec: CommandSpec = {
  name: 'agent status',
  group: 'Hosts',
  summary: 'Show the mlt agent on a host: where, which version, and whether connect would replace it',
  args: [TARGET],
  examples: ['mltoolbox agent status gpu-box', 'mltoolbox agent status --json'],
  load: () => import('./status.ts'),
};

export const agentRemoveSpec: CommandSpec = {
  name: 'agent remove',
  group: 'Hosts',
  summary: 'Remove the mlt agent from a host (containers and files stay)',
  args: [TARGET],
  examples: ['mltoolbox agent remove gpu-box'],
  load: () => import('./remove.ts'),
};
