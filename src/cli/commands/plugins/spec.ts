import type { CommandSpec } from '../../command.ts';

export const pluginsListSpec: CommandSpec = {
  name: 'plugins list',
  summary: 'List plugins: built-in, in your plugins folder, installed packages; which are enabled',
  description: 'Shows each plugin\'s name, version, where it comes from, the hooks it implements and whether `plugins:` in '
    + 'mltoolbox.yaml enables it. Plugins come from mltoolbox itself, $XDG_CONFIG_HOME/mltoolbox/plugins/*.{js,mjs}, and npm '
    + 'packages named mltoolbox-plugin-* (or with the mltoolbox-plugin keyword) in the project or installed globally.',
  group: 'Configuration',
  examples: ['mltoolbox plugins list', 'mltoolbox plugins list --json'],
  load: () => import('./list.ts'),
};

export const pluginsDoctorSpec: CommandSpec = {
  name: 'plugins doctor',
  summary: 'Check that every plugin loads, targets this plugin API and has a valid config section',
  description: 'Exits 5 when an enabled plugin cannot be used (not found, fails to load, API major mismatch) or the '
    + 'configuration (plugin sections included) is invalid.',
  group: 'Configuration',
  examples: ['mltoolbox plugins doctor', 'mltoolbox plugins doctor --json'],
  load: () => import('./doctor.ts'),
};

export const pluginsRunSpec: CommandSpec = {
  name: 'plugins run',
  summary: 'Run a command an enabled plugin adds (options after --)',
  description: 'Plugins may add commands (one or two words, e.g. `ray status`). Their own options go after `--`. '
    + '`mltoolbox plugins list` shows each plugin\'s commands.',
  group: 'Configuration',
  args: [{ name: 'COMMAND', description: 'the plugin command and its arguments', required: true, variadic: true }],
  acceptsRest: true,
  examples: ['mltoolbox plugins run ray status', 'mltoolbox plugins run example hello -- --loud'],
  load: () => import('./run.ts'),
};
