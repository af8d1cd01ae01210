import type { CommandSpec } from '../../command.ts';

const TARGET = { name: 'TARGET', description: "Only this host (or 'local'); default: every target of this project" } as const;

export const portsListSpec: CommandSpec = {
  name: 'ports list',
  group: 'Start here',
  summary: "List this project's forwarded ports: local port -> container port, target, alive",
  args: [TARGET],
  examples: ['mltoolbox ports list', 'mltoolbox ports list gpu-box --json'],
  load: () => import('./list.ts'),
};

export const portsCloseSpec: CommandSpec = {
  name: 'ports close',
  group: 'Start here',
  summary: 'Close a forwarded port (or --all); the local port is free again',
  description: "With one argument that is a number, it is the port; a name is the target. Ports of the 'local' target are "
    + 'published by the container itself: they go away with mltoolbox down local.',
  args: [TARGET, { name: 'LOCAL_PORT', description: 'The local port to close, e.g. 8888' }],
  options: { all: { type: 'boolean', description: "Close every forward of this project (of TARGET, if given)" } },
  examples: ['mltoolbox ports close 8888', 'mltoolbox ports close gpu-box 8888', 'mltoolbox ports close --all'],
  load: () => import('./close.ts'),
};
