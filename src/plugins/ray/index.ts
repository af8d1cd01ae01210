import * as z from 'zod';
import { pluginError, type ConfigView, type Plugin, type PluginContainer, type PluginContext } from '../../plugin-api/index.ts';
import { dashboardUrl, RAY_DEFAULTS, rayHeadCommand, rayStopCommand, rayWorkerCommand } from './commands.ts';

/**
 * Ray: a head node in the dev container on every container start, the
 * dashboard forwarded to this machine, `ray stop` before the container stops.
 * In a multi-host connect (`connect HEAD WORKER...` or `ray.workers`) each
 * worker's container joins the head instead.
 * The `ray:` section, its defaults and the worker list are this plugin's own:
 * the core knows no Ray.
 */

const port = z.number().int().min(1).max(65535);

/** The `ray:` section (validated whenever a config is loaded, like every built-in plugin's). */
export const raySectionSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Start a Ray head node in the container. Default: false.'),
    port: port.optional().describe('Ray GCS port. Default: 6379.'),
    dashboard_port: port.optional().describe('Ray dashboard port (forwarded). Default: 8265.'),
    head_address: z.string().min(1).optional().describe("The head host's address as workers reach it. Default: the head's HostName as ssh resolves it."),
    workers: z
      .array(
        z.strictObject({
          target: z.string().min(1).describe('Saved remote or ssh alias of the worker host.'),
          num_gpus: z.number().int().min(0).optional().describe('GPUs the worker offers. Default: all it has.'),
        }),
      )
      .optional()
      .describe('Other hosts that join the head as Ray workers: connect starts them after the head.'),
  })
  .describe('Ray cluster settings (ray plugin).');

export type RaySection = z.infer<typeof raySectionSchema>;

export type RaySettings = RaySection & { enabled: boolean; port: number; dashboard_port: number };

/** The `ray:` section with its defaults applied: the one place Ray's defaults live. */
export function raySettings(config: ConfigView): RaySettings {
  const section = (config['ray'] ?? {}) as RaySection;
  return {
    ...section,
    enabled: section.enabled ?? false,
    port: section.port ?? RAY_DEFAULTS.port,
    dashboard_port: section.dashboard_port ?? RAY_DEFAULTS.dashboardPort,
  };
}

/**
 * What a worker target runs to join the head: the head's address from
 * `ray.head_address`, else the one connect resolved; `--num-gpus` from the
 * target's `ray.workers` entry. Undefined when no address is known.
 */
export function workerJoinCommand(settings: RaySettings, target: string | undefined, headAddress: string | undefined): string[] | undefined {
  const address = settings.head_address ?? headAddress;
  if (!address) return undefined;
  const numGpus = settings.workers?.find((worker) => worker.target === target)?.num_gpus;
  return rayWorkerCommand({ headAddress: address, port: settings.port, ...(numGpus === undefined ? {} : { numGpus }) });
}

/** The container port a `ports` entry (8888, "8888:8888", "127.0.0.1:8888:8888/tcp") forwards to. */
export function containerPortOf(entry: unknown): number | undefined {
  if (typeof entry === 'number') return entry;
  if (typeof entry !== 'string') return undefined;
  const last = entry.replace(/\/(tcp|udp)$/, '').split(':').pop();
  return last && /^\d+$/.test(last) ? Number(last) : undefined;
}

/**
 * Publishes the dashboard port with the project's own ports, so connect
 * forwards it like any other (and `status` lists it). Returns undefined
 * when nothing changes.
 */
export function withDashboardPort(config: ConfigView): ConfigView | undefined {
  const settings = raySettings(config);
  if (!settings.enabled) return undefined;
  const environment = (config['environment'] ?? {}) as Record<string, unknown>;
  const ports = Array.isArray(environment['ports']) ? (environment['ports'] as unknown[]) : [];
  if (ports.some((entry) => containerPortOf(entry) === settings.dashboard_port)) return undefined;
  return { ...config, environment: { ...environment, ports: [...ports, settings.dashboard_port] } };
}

/** `ray.workers[].target` when Ray is enabled: the hosts a connect without worker targets joins to the head. */
export function configuredWorkers(config: ConfigView): string[] {
  const settings = raySettings(config);
  return settings.enabled ? (settings.workers ?? []).map((worker) => worker.target) : [];
}

const ALREADY_RUNNING = /already running/i;
const NOT_INSTALLED = /not found|No such file or directory|executable file not found/i;

export const rayPlugin: Plugin<RaySection> = {
  name: 'ray',
  version: '1.2.0',
  apiVersion: '1.2',
  description: 'Starts a Ray head node in the dev container (workers on further connect targets) and forwards its dashboard.',
  config: { key: 'ray', schema: raySectionSchema },
  commands: [
    {
      name: 'ray status',
      summary: 'Show the Ray cluster in the dev container (ray status)',
      examples: ['mltoolbox plugins run ray status'],
      async run(_input, ctx) {
        if (!ctx.container) throw pluginError('no running dev container', 'Start it first: mltoolbox connect TARGET --no-attach');
        const result = await ctx.container.exec(['ray', 'status']);
        return { result: { exitCode: result.exitCode, output: result.stdout }, human: result.stdout + result.stderr, exitCode: result.exitCode };
      },
    },
  ],
  hooks: {
    configLoaded: ({ config }) => withDashboardPort(config),
    workerTargets: (_payload, ctx) => configuredWorkers(ctx.config.project),
    containerStart: {
      timeoutMs: 120_000,
      async handler(_payload, ctx) {
        const settings = raySettings(ctx.config.project);
        if (!settings.enabled) return;
        if (!ctx.container) {
          ctx.logger.warn('no container to start Ray in');
          return;
        }
        if (ctx.project.role === 'worker') {
          const argv = workerJoinCommand(settings, ctx.project.target, ctx.cluster?.head.address);
          if (!argv) throw pluginError('no address of the Ray head for this worker', 'Set ray.head_address in mltoolbox.yaml to the head host\'s address.');
          const address = argv.find((a) => a.startsWith('--address='))!.slice('--address='.length);
          const joined = await startRay(ctx, ctx.container, argv, `Joining the Ray head at ${address}`);
          ctx.logger.success(`Ray worker ${joined}: ${ctx.project.target ?? 'this host'} -> ${address}`);
          return;
        }
        const started = await startRay(ctx, ctx.container, rayHeadCommand({ port: settings.port, dashboardPort: settings.dashboard_port, hostNetwork: usesHostNetwork(ctx.config.project) }), 'Starting the Ray head node');
        ctx.logger.debug(`Ray head ${started} (GCS port ${settings.port})`);
      },
    },
    connectComplete: {
      timeoutMs: 30_000,
      async handler(payload, ctx) {
        const settings = raySettings(ctx.config.project);
        // A worker forwards nothing: the dashboard is the head's.
        if (!settings.enabled || ctx.project.role === 'worker') return;
        // connect forwarded the dashboard with the project's ports (configLoaded published it).
        let local = payload.forwards.find((f) => f.container === settings.dashboard_port)?.local;
        if (local === undefined && ctx.ports) local = (await ctx.ports.forward(settings.dashboard_port)).localPort;
        if (local === undefined) ctx.logger.info(`Ray dashboard: container port ${settings.dashboard_port} (not forwarded)`);
        else ctx.logger.success(`Ray dashboard: ${dashboardUrl(local)}`);
      },
    },
    containerStop: {
      timeoutMs: 60_000,
      async handler(_payload, ctx) {
        if (!raySettings(ctx.config.project).enabled || !ctx.container) return;
        const result = await ctx.container.exec(rayStopCommand());
        if (result.exitCode !== 0) ctx.logger.warn(`ray stop exited with ${result.exitCode}: ${lastLine(`${result.stdout}\n${result.stderr}`)}`);
        else ctx.logger.debug('Ray stopped');
      },
    },
  },
};

/** Runs `ray start …`; a node already running (reused container) is fine, a missing `ray` says how to add it. */
async function startRay(ctx: PluginContext<RaySection>, container: PluginContainer, argv: string[], title: string): Promise<'started' | 'already running'> {
  return ctx.logger.task(title, async () => {
    const result = await container.exec(argv);
    const output = `${result.stdout}\n${result.stderr}`;
    if (result.exitCode === 0) return 'started';
    if (ALREADY_RUNNING.test(output)) return 'already running';
    if (result.exitCode === 127 || NOT_INSTALLED.test(output)) {
      throw pluginError('ray is not installed in the container', "Add it to the image (pip install 'ray[default]'), or set ray.enabled: false.");
    }
    throw pluginError(`${argv.slice(0, 3).join(' ')} exited with ${result.exitCode}: ${lastLine(output)}`,
      argv.includes('--head')
        ? 'Check the container with `mltoolbox exec -- ray status`; fix the ray: section in mltoolbox.yaml if a port is taken.'
        : "Check that the head's GCS port is reachable from this host (environment.network_mode: host on every host; see docs/builtin-plugins.md#ray), or set ray.head_address.");
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

function usesHostNetwork(project: Readonly<Record<string, unknown>>): boolean {
  return (project['environment'] as { network_mode?: unknown } | undefined)?.network_mode === 'host';
}
