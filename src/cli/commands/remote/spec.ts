import type { CommandSpec } from '../../command.ts';

const ALIAS_ARG = { name: 'ALIAS', description: 'short name for the host: letters, digits, - _ . (e.g. gpu-box)', required: true } as const;

export const remoteAddSpec: CommandSpec = {
  name: 'remote add',
  summary: 'Save a host under a short name (an existing name is updated)',
  description: 'TARGET is [user@]host[:port]; host may also be a Host from ~/.ssh/config. '
    + 'What you leave out (user, port, key) is left to ssh and its config. Saved in the state database (docs/state.md).',
  group: 'Hosts',
  args: [ALIAS_ARG, { name: 'TARGET', description: '[user@]host[:port], e.g. alice@gpu-box:2222', required: true }],
  options: {
    'identity-file': { type: 'string', short: 'i', valueName: 'FILE', description: 'Private key to log in with (ssh -i)' },
    port: { type: 'string', short: 'p', valueName: 'N', description: 'SSH port (same as :N in TARGET)' },
    user: { type: 'string', short: 'u', valueName: 'USER', description: 'Login name (same as USER@ in TARGET)' },
    yes: { type: 'boolean', short: 'y', description: 'Also add the one Include line for the generated ssh_config to ~/.ssh/config without asking' },
  },
  examples: [
    'mltoolbox remote add gpu alice@gpu-box.example.com',
    'mltoolbox remote add lab 10.0.0.5:2222 --user alice --identity-file ~/.ssh/id_lab',
  ],
  load: () => import('./add.ts'),
};

export const remoteListSpec: CommandSpec = {
  name: 'remote list',
  summary: 'List saved remotes',
  group: 'Hosts',
  examples: ['mltoolbox remote list', 'mltoolbox remote list --json'],
  load: () => import('./list.ts'),
};

export const remoteRemoveSpec: CommandSpec = {
  name: 'remote remove',
  summary: 'Forget a saved remote (nothing on the host is touched)',
  group: 'Hosts',
  args: [ALIAS_ARG],
  examples: ['mltoolbox remote remove gpu'],
  load: () => import('./remove.ts'),
};
