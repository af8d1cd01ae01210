import * as z from 'zod';
import { pluginError, type ConfigView, type Plugin } from '../../plugin-api/index.ts';
import { joinShellCommand } from '../../core/shell-quote.ts';
import { dashboardUrl, RAY_DEFAULTS, rayHeadCommand, rayStopCommand, rayWorkerCommand } from './commands.ts';

/**
 * Ray: a head node in the dev container on every container start, the
 * dashboard forwarded to this machine, `ray stop` before the container stops.
 * The `ray:` section replaces the core schema's (same keys, plus `workers`).
 */

const port = z.number().int().min(1).max(65535);

/** The core schema's `ray:` keys (same meaning, same defaults) plus the worker list. */
export const raySectionSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Start a Ray head node in the container. Default: false.'),
    port: port.optional().describe('Ray GCS port. Default: 6379.'),
    dashboard_port: port.optional().describe('Ray dashboard port (forwarded). Default: 8265.'),
    head_address: z.string().min(1).optional().describe('The head host address as workers reach it. Default: the target name.'),
    workers: z
      .array(
        z.strictObject({
          target: z.string().min(1).describe('Saved remote or ssh alias of the worker host.'),
          num_gpus: z.number().int().min(0).optional().describe('GPUs the worker offers. Default: all it has.'),
        }),
      )
      .optional()
      .describe('Other hosts that join the head as Ray workers.'),
  })
  .describe('Ray cluster settings (ray plugin).');

export type RaySection = z.infer<typeof raySectionSchema>;

export type RaySettings = RaySection & { enabled: boolean; port: number; dashboard_port: number };

/** The `ray:` section with defaults; the same key whether the core schema or the plugin's validated it. */
export function raySettings(config: ConfigView): RaySettings {
  const section = (config['ray'] ?? {}) as RaySection;
  return {
    ...section,
    enabled: section.enabled ?? false,
    port: section.port ?? RAY_DEFAULTS.port,
    dashboard_port: section.dashboard_port ?? RAY_DEFAULTS.dashboardPort,
  };
}

/** What each worker host runs to join; started by hand or a later multi-host connect. */
export function workerJoinCommands(settings: RaySettings, headTarget: string | undefined): { target: string; argv: string[] }[] {
  const headAddress = settings.head_address ?? headTarget;
  if (!headAddress) return [];
  return (settings.workers ?? []).map((worker) => ({
    target: worker.target,
    argv: rayWorkerCommand({ headAddress, port: settings.port, ...(worker.num_gpus === undefined ? {} : { numGpus: worker.num_gpus }) }),
  }));
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

const ALREADY_RUNNING = /already running/i;
const NOT_INSTALLED = /not found|No such file or directory|executable file not found/i;

export const rayPlugin: Plugin<RaySection> = {
  name: 'ray',
  version: '1.0.0',
  apiVersion: '1.0',
  description: 'Starts a Ray head node in the dev container and forwards its dashboard.',
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
    containerStart: {
      timeoutMs: 120_000,
      async handler(_payload, ctx) {
        const settings = raySettings(ctx.config.project);
        if (!settings.enabled) return;
        if (!ctx.container) {
          ctx.logger.warn('no container to start Ray in');
          return;
        }
        const container = ctx.container;
        const started = await ctx.logger.task('Starting the Ray head node', async () => {
          const result = await container.exec(rayHeadCommand({ port: settings.port, dashboardPort: settings.dashboard_port }));
          const output = `${result.stdout}\n${result.stderr}`;
          if (result.exitCode === 0) return 'started';
          if (ALREADY_RUNNING.test(output)) return 'already running';
          if (result.exitCode === 127 || NOT_INSTALLED.test(output)) {
            throw pluginError('ray is not installed in the container', "Add it to the image (pip install 'ray[default]'), or set ray.enabled: false.");
          }
          throw pluginError(`ray start --head exited with ${result.exitCode}: ${lastLine(output)}`, 'Check the container with `mltoolbox exec -- ray status`; fix the ray: section in mltoolbox.yaml if a port is taken.');
        });
        ctx.logger.debug(`Ray head ${started} (GCS port ${settings.port})`);

        for (const worker of workerJoinCommands(settings, ctx.project.target)) {
          // Only the project's own host is reachable from a hook: say what each worker must run.
          ctx.logger.info(`Ray worker ${worker.target}: mltoolbox exec ${worker.target} -- ${joinShellCommand(worker.argv)}`);
        }
      },
    },
    connectComplete: {
      timeoutMs: 30_000,
      async handler(payload, ctx) {
        const settings = raySettings(ctx.config.project);
        if (!settings.enabled) return;
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

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
