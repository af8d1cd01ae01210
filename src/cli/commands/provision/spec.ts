import { OPERATION_OPTIONS, type CommandSpec, type OptionSpec } from '../../command.ts';

const BACKEND_ARG = { name: 'BACKEND', description: 'lambda, shadeform or runpod', required: true } as const;
const QUERY_OPTIONS: Record<string, OptionSpec> = {
  gpu: { type: 'string', valueName: 'MODEL', description: 'GPU model, e.g. H100, A100, "RTX 4090" (default: provision.gpu)' },
  count: { type: 'string', valueName: 'N', description: 'GPUs per instance (default: provision.gpu_count)' },
  'max-price': { type: 'string', valueName: 'USD', description: 'Highest price in USD per hour (default: provision.max_price)' },
  region: { type: 'string', valueName: 'R', description: 'Only this region (default: provision.region)' },
  backend: { type: 'string', valueName: 'B', description: 'Only this backend (default: provision.backend, else every backend added)' },
};

export const backendAddSpec: CommandSpec = {
  name: 'backend add',
  sensitiveArgs: true,
  summary: 'Store a GPU cloud\'s API key (hidden prompt or stdin, never the command line) and check it',
  description: 'The key is verified with one API call, then kept in the secret store (OS keychain or the encrypted file). See docs/provisioning.md.',
  group: 'Cloud GPUs',
  args: [BACKEND_ARG],
  options: { url: { type: 'string', valueName: 'URL', description: 'API base URL (a proxy; MLTOOLBOX_<NAME>_URL and provision.backends.NAME.url also set it)' } },
  examples: ['mltoolbox backend add lambda', 'printf %s "$SHADEFORM_API_KEY" | mltoolbox backend add shadeform'],
  load: () => import('./backend-add.ts'),
};

export const backendListSpec: CommandSpec = {
  name: 'backend list',
  summary: 'List GPU cloud backends, whether a key is stored and whether it works',
  group: 'Cloud GPUs',
  options: { offline: { type: 'boolean', description: 'Do not call the providers (no auth check)' } },
  examples: ['mltoolbox backend list', 'mltoolbox backend list --json'],
  load: () => import('./backend-list.ts'),
};

export const backendRemoveSpec: CommandSpec = {
  name: 'backend remove',
  summary: 'Forget a backend\'s API key (instances keep running; the ledger keeps them)',
  group: 'Cloud GPUs',
  args: [BACKEND_ARG],
  examples: ['mltoolbox backend remove runpod'],
  load: () => import('./backend-remove.ts'),
};

export const searchSpec: CommandSpec = {
  name: 'search',
  summary: 'Live GPU offers from every backend at once, cheapest first',
  description: 'Backends are asked in parallel; one that fails is a warning row, not a failure. '
    + 'With --watch it polls politely until an offer is available, notifies (terminal and the notify hook, e.g. slack), and with --provision launches it.',
  group: 'Cloud GPUs',
  options: {
    ...QUERY_OPTIONS,
    all: { type: 'boolean', description: 'Also list offers without capacity now' },
    watch: { type: 'boolean', short: 'w', description: 'Poll until an offer is available, then notify' },
    interval: { type: 'string', valueName: 'SECONDS', description: 'Between polls with --watch (default 60, at least 10)' },
    timeout: { type: 'string', valueName: 'MINUTES', description: 'Give up watching after this long (default 720)' },
    provision: { type: 'boolean', description: 'With --watch: provision the offer found (the same as mltoolbox provision --offer ID --yes --no-connect)' },
  },
  examples: ['mltoolbox search --gpu H100', 'mltoolbox search --gpu A100 --count 8 --max-price 15 --json', 'mltoolbox search --watch --gpu H100 --max-price 3'],
  load: () => import('./search.ts'),
};

export const provisionSpec: CommandSpec = {
  name: 'provision',
  summary: 'Launch the cheapest GPU instance that fits, wait for SSH, save it as a remote, connect',
  description: 'Falls back to the next offer when a provider is out of capacity. Anything launched is recorded before the launch '
    + 'and terminated on every failure, Ctrl-C included. On RunPod the pod is the dev container (environment.base_image).',
  group: 'Cloud GPUs',
  operation: 'provision',
  options: {
    ...OPERATION_OPTIONS,
    ...QUERY_OPTIONS,
    offer: { type: 'string', valueName: 'ID', description: 'Exactly this offer (an id from mltoolbox search)' },
    name: { type: 'string', valueName: 'NAME', description: 'Name of the instance and of its saved remote (default: mlt-PROJECT-xxxxxx)' },
    yes: { type: 'boolean', short: 'y', description: 'Do not ask before spending money' },
    'idle-timeout': { type: 'string', valueName: 'DURATION', description: 'Idle time before the idle action, for this instance: minutes, or 90s, 45m, 2h (default: provision.idle_timeout_minutes, 30; 0: never)' },
    'idle-key-on-host': { type: 'boolean', description: 'Consent to place the backend API key on the instance (0600, read only by its idle watcher) so it can stop/terminate itself when idle (default: provision.idle_key_on_host; asks on a terminal)' },
    'idle-action': { type: 'string', valueName: 'ACTION', description: 'stop, terminate or notify, for this instance (default: provision.idle_action, stop)' },
    'no-connect': { type: 'boolean', description: 'Stop once the instance answers SSH (no sync, no container)' },
    'no-attach': { type: 'boolean', description: 'Connect, but do not open a shell' },
  },
  examples: ['mltoolbox provision --gpu H100 --max-price 3', 'mltoolbox provision --offer lambda:gpu_1x_a100:us-west-2 --yes --no-connect'],
  load: () => import('./provision.ts'),
};

export const instancesListSpec: CommandSpec = {
  name: 'instances list',
  summary: 'Provisioned instances with state, $/h, uptime, spend and idle timer; strays found at the providers are marked',
  group: 'Cloud GPUs',
  options: {
    all: { type: 'boolean', description: 'Also instances that ended' },
    'terminate-strays': { type: 'boolean', description: 'Terminate the strays found (with --yes or at the prompt)' },
    yes: { type: 'boolean', short: 'y', description: 'Do not ask before terminating strays' },
  },
  examples: ['mltoolbox instances list', 'mltoolbox instances list --terminate-strays --yes --json'],
  load: () => import('./instances-list.ts'),
};

const INSTANCE_ARG = { name: 'INSTANCE', description: 'name or provider id (mltoolbox instances list)' } as const;

export const instancesStopSpec: CommandSpec = {
  name: 'instances stop',
  summary: 'Stop an instance (compute billing ends, the disk stays; RunPod only)',
  group: 'Cloud GPUs',
  args: [INSTANCE_ARG],
  options: { all: { type: 'boolean', description: 'Every running instance' }, yes: { type: 'boolean', short: 'y', description: 'Do not ask' } },
  examples: ['mltoolbox instances stop mlt-demo-1a2b3c'],
  load: () => import('./instances-stop.ts'),
};

export const instancesTerminateSpec: CommandSpec = {
  name: 'instances terminate',
  summary: 'Terminate an instance (billing ends, its disk is deleted) and forget its remote',
  group: 'Cloud GPUs',
  args: [INSTANCE_ARG],
  options: { all: { type: 'boolean', description: 'Every instance mltoolbox knows that may bill' }, yes: { type: 'boolean', short: 'y', description: 'Do not ask' } },
  examples: ['mltoolbox instances terminate mlt-demo-1a2b3c', 'mltoolbox instances terminate --all --yes'],
  load: () => import('./instances-terminate.ts'),
};
