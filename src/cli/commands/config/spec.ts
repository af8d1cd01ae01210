import type { CommandSpec, OptionSpec } from '../../command.ts';

const DEVCONTAINER_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'NAME',
  description: 'Use .devcontainer/NAME/devcontainer.json (even when mltoolbox.yaml exists)',
};

export const configValidateSpec: CommandSpec = {
  name: 'config validate',
  summary: 'Check the configuration and list the files it comes from',
  description: 'Loads every layer (defaults, system, user, mltoolbox.yaml, mltoolbox.local.yaml, MLTOOLBOX_* variables) '
    + 'and reports every problem at once with file:line:column. Exits 3 when the configuration is invalid. '
    + 'Secret values are never read.',
  group: 'Configuration',
  options: { devcontainer: DEVCONTAINER_OPTION },
  examples: ['mltoolbox config validate', 'mltoolbox config validate --json'],
  load: () => import('./validate.ts'),
};

export const configShowSpec: CommandSpec = {
  name: 'config show',
  summary: 'Print the resolved configuration, optionally with where each value came from',
  description: 'One `key = value` line per setting. --origin adds the file:line, env variable or flag that set it '
    + '(like git config --show-origin). Secrets print as <secret:name>, credential-like variables as <redacted>.',
  group: 'Configuration',
  args: [{ name: 'KEY', description: 'a key or section, e.g. remote.host or sync' }],
  options: {
    origin: { type: 'boolean', description: 'Show where each value came from' },
    devcontainer: DEVCONTAINER_OPTION,
  },
  examples: ['mltoolbox config show --origin', 'mltoolbox config show remote', 'mltoolbox config show environment.gpu_count --json'],
  load: () => import('./show.ts'),
};

export const configSchemaSpec: CommandSpec = {
  name: 'config schema',
  summary: 'Print the JSON Schema of mltoolbox.yaml (for editors)',
  group: 'Configuration',
  examples: ['mltoolbox config schema > mltoolbox.schema.json'],
  load: () => import('./schema.ts'),
};
