import type { CommandSpec } from '../../command.ts';

export const opsListSpec: CommandSpec = {
  name: 'ops list',
  group: 'Hosts',
  summary: 'Operations the relay knows (connect, sync, provision run with --op/--background): state, progress, result',
  description: 'Needs relay.url and a user token (mltoolbox secret set relay_token). See docs/relay.md#operations.',
  options: {
    limit: { type: 'string', valueName: 'N', description: 'At most N operations, newest first (default 20, up to 500)' },
  },
  examples: ['mltoolbox ops list', 'mltoolbox ops list --json'],
  load: () => import('./list.ts'),
};

export const opsWatchSpec: CommandSpec = {
  name: 'ops watch',
  group: 'Hosts',
  summary: 'Follow an operation through the relay until it ends (Ctrl-C detaches); prints its result',
  description: 'Shows its progress from now on (and the lines the relay still holds), then exits with the operation\'s own exit status. '
    + 'A finished operation answers at once with its result.',
  args: [{ name: 'id', description: 'The operation id (op-xxxxxxxx), from the command that started it or mltoolbox ops list', required: true }],
  examples: ['mltoolbox ops watch op-1a2b3c4d', 'mltoolbox ops watch op-1a2b3c4d --json'],
  load: () => import('./watch.ts'),
};

export const opsCancelSpec: CommandSpec = {
  name: 'ops cancel',
  group: 'Hosts',
  summary: 'Stop a running operation through the relay (as Ctrl-C would: a provision terminates what it launched); waits until it has stopped',
  description: 'Its worker is told at once and stops the work: rsync and hooks end, a connect stops where it is, a provision terminates '
    + 'the instance it launched (or never launches it). The operation ends `cancelled` in ops list, ops watch and the dashboard. '
    + 'An operation that has already ended is refused (OPERATION_FINISHED). See docs/relay.md#cancelling.',
  args: [{ name: 'id', description: 'The operation id (op-xxxxxxxx), from mltoolbox ops list', required: true }],
  options: {
    'no-wait': { type: 'boolean', description: 'Ask it to stop and return at once (ops watch ID shows when it has)' },
  },
  examples: ['mltoolbox ops cancel op-1a2b3c4d', 'mltoolbox ops cancel op-1a2b3c4d --no-wait --json'],
  load: () => import('./cancel.ts'),
};
