import type { CommandSpec } from '../../command.ts';

const NAME_ARG = { name: 'NAME', description: 'secret name: letters, digits, _ - . (e.g. wandb_api_key)', required: true } as const;

export const secretSetSpec: CommandSpec = {
  name: 'secret set',
  sensitiveArgs: true,
  summary: 'Store a secret (value from a hidden prompt or stdin, never from the command line)',
  description: 'Reads the value from a hidden prompt on a terminal, or from stdin when piped (one trailing newline is dropped). '
    + 'Stored in the OS keychain, or in an encrypted file when there is none (see docs/secrets.md).',
  group: 'Secrets',
  args: [NAME_ARG],
  examples: ['mltoolbox secret set wandb_api_key', 'printf %s "$HF_TOKEN" | mltoolbox secret set hf_token'],
  load: () => import('./set.ts'),
};

export const secretGetSpec: CommandSpec = {
  name: 'secret get',
  summary: 'Print a secret\'s value on stdout (for scripts)',
  group: 'Secrets',
  args: [NAME_ARG],
  examples: ['export HF_TOKEN="$(mltoolbox secret get hf_token)"'],
  load: () => import('./get.ts'),
};

export const secretListSpec: CommandSpec = {
  name: 'secret list',
  summary: 'List secret names (never values)',
  group: 'Secrets',
  examples: ['mltoolbox secret list', 'mltoolbox secret list --json'],
  load: () => import('./list.ts'),
};

export const secretRmSpec: CommandSpec = {
  name: 'secret rm',
  summary: 'Delete a secret',
  group: 'Secrets',
  args: [NAME_ARG],
  examples: ['mltoolbox secret rm hf_token'],
  load: () => import('./rm.ts'),
};
