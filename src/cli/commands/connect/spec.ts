import { OPERATION_OPTIONS, type ArgSpec, type CommandSpec } from '../../command.ts';

const TARGET: ArgSpec = {
  name: 'target',
  description: "Host: ssh alias, [user@]host[:port], a saved remote, or 'local' (this machine's Docker). Default: the project's last one",
};

export const connectSpec: CommandSpec = {
  name: 'connect',
  group: 'Start here',
  summary: 'Sync the project to a host, start its dev container with GPUs, forward ports, open a shell',
  description:
    'Each step is skipped when already done: a second connect with nothing changed reuses the SSH connection, ' +
    'transfers nothing and reuses the running container. Further targets (or ray.workers) get the same pipeline as ' +
    'workers of the first, e.g. Ray workers that join its head; the shell opens on the first. See docs/connect.md.',
  args: [
    TARGET,
    { name: 'workers', description: 'More hosts for a multi-node run: each gets the project and a worker container (default: ray.workers when Ray is enabled)', variadic: true },
  ],
  operation: 'connect',
  options: {
    ...OPERATION_OPTIONS,
    'no-attach': { type: 'boolean', description: 'Set everything up, but do not open a shell' },
    'skip-sync': { type: 'boolean', description: 'Do not sync the project first' },
    port: { type: 'string', short: 'p', multiple: true, valueName: 'LOCAL:REMOTE', description: 'Forward a port (repeatable), e.g. -p 8888:8888; /udp publishes a UDP port' },
    'force-rebuild': { type: 'boolean', description: 'Rebuild the image and recreate the container' },
    detach: { type: 'boolean', description: 'Keep the port forwards after the shell exits (until mltoolbox ports close or down)' },
    yes: { type: 'boolean', short: 'y', description: "Answer yes without asking: install or upgrade the mlt agent on the host (docs/agent.md), and run doctor's fixes when a host check fails (no Docker, not running, no permission, no rsync; docs/doctor.md)" },
  },
  examples: ['mltoolbox connect gpu-box', 'mltoolbox connect gpu-box -p 8888 --detach', 'mltoolbox connect alice@10.0.0.5:2222 -p 8888:8888 --no-attach', 'mltoolbox connect local', 'mltoolbox connect gpu-a gpu-b gpu-c --no-attach'],
  load: () => import('./connect.ts'),
};

export const syncSpec: CommandSpec = {
  name: 'sync',
  group: 'Start here',
  summary: 'Copy the project to the host (only what changed; remote outputs are never deleted)',
  args: [TARGET],
  operation: 'sync',
  options: {
    ...OPERATION_OPTIONS,
    watch: { type: 'boolean', short: 'w', description: 'Keep syncing on every local save until Ctrl-C (the default with sync.watch.enabled)' },
    once: { type: 'boolean', description: 'Sync once even when sync.watch.enabled is set' },
    'dry-run': { type: 'boolean', short: 'n', description: 'List what would change; change nothing' },
  },
  examples: ['mltoolbox sync', 'mltoolbox sync gpu-box --dry-run', 'mltoolbox sync --watch', 'mltoolbox sync --once', 'mltoolbox sync gpu-box --background'],
  load: () => import('./sync.ts'),
};

export const fetchSpec: CommandSpec = {
  name: 'fetch',
  group: 'Start here',
  summary: 'Bring a path back from the host (e.g. outputs/); never deletes local files',
  args: [
    { name: 'target', description: 'The host', required: true },
    { name: 'remote_path', description: 'Path relative to the project folder on the host', required: true },
    { name: 'local_path', description: 'The folder to put it in: relative to the project, or absolute (default: the project, at the same place)' },
  ],
  examples: ['mltoolbox fetch gpu-box outputs/', 'mltoolbox fetch gpu-box runs/42/model.pt', 'mltoolbox fetch gpu-box outputs /tmp/results'],
  load: () => import('./fetch.ts'),
};

export const shellSpec: CommandSpec = {
  name: 'shell',
  group: 'Start here',
  summary: 'Open a shell in the dev container (alias: attach)',
  args: [TARGET],
  examples: ['mltoolbox shell', 'mltoolbox shell gpu-box'],
  load: () => import('./shell.ts'),
};

export const attachSpec: CommandSpec = { ...shellSpec, name: 'attach', summary: 'Same as shell' };

export const execSpec: CommandSpec = {
  name: 'exec',
  group: 'Start here',
  summary: 'Run a command in the dev container; its exit code is passed through',
  args: [TARGET],
  acceptsRest: true,
  options: { tty: { type: 'boolean', short: 't', description: 'Allocate a terminal (for full-screen programs)' } },
  examples: ['mltoolbox exec -- python train.py --epochs 3', 'mltoolbox exec gpu-box -- nvidia-smi'],
  load: () => import('./exec.ts'),
};

export const logsSpec: CommandSpec = {
  name: 'logs',
  group: 'Start here',
  summary: "Show the dev container's output",
  args: [TARGET],
  options: {
    follow: { type: 'boolean', short: 'f', description: 'Keep printing new output until Ctrl-C' },
    tail: { type: 'string', valueName: 'N', description: 'Only the last N lines' },
  },
  load: () => import('./logs.ts'),
};

export const psSpec: CommandSpec = {
  name: 'ps',
  group: 'Start here',
  summary: "List every mltoolbox container on the host (all projects; this project's marked *)",
  description: 'Asks the relay first when relay.url is set (bounded by relay.timeout_ms), else the host\'s engine over SSH.',
  args: [TARGET],
  examples: ['mltoolbox ps', 'mltoolbox ps gpu-box --json'],
  load: () => import('./ps.ts'),
};

export const statusSpec: CommandSpec = {
  name: 'status',
  group: 'Start here',
  summary: 'Show the dev container, forwarded ports, GPUs and last sync of this project',
  args: [TARGET],
  load: () => import('./status.ts'),
};

export const stopSpec: CommandSpec = {
  name: 'stop',
  group: 'Start here',
  summary: 'Stop the dev container (connect starts it again)',
  args: [TARGET],
  load: () => import('./stop.ts'),
};

export const downSpec: CommandSpec = {
  name: 'down',
  group: 'Start here',
  summary: 'Remove the dev container; the project files on the host stay',
  args: [TARGET],
  load: () => import('./down.ts'),
};
