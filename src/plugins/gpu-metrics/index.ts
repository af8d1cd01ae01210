import * as z from 'zod';
import { pluginError, type ExecResult, type Plugin, type PluginContext } from '../../plugin-api/index.ts';
import { formatGpuMetrics, gpuMetricsCommand, parseGpuMetrics, summarizeGpuMetrics, type GpuMetrics } from './metrics.ts';

/**
 * GPU utilisation, memory, temperature and power per GPU, read with one
 * nvidia-smi call on the host (or in the container for the local target).
 * `mltoolbox gpu` shows them; `--json` gives them to scripts.
 */

export const gpuMetricsSectionSchema = z
  .strictObject({
    on_connect: z.boolean().optional().describe('Print a one-line GPU summary when connect finishes. Default: true.'),
  })
  .describe('GPU metrics (gpu-metrics plugin).');

export type GpuMetricsSection = z.infer<typeof gpuMetricsSectionSchema>;

type GpuContext = PluginContext<GpuMetricsSection>;

/** Where nvidia-smi sees the GPUs: the host when there is one, else the container. */
export async function readGpuMetrics(context: GpuContext): Promise<GpuMetrics> {
  const argv = gpuMetricsCommand();
  let result: ExecResult;
  if (context.host) result = await context.host.exec(argv);
  else if (context.container) result = await context.container.exec(argv);
  else throw pluginError('no GPU host to ask', 'Connect first: mltoolbox connect TARGET --no-attach');
  // stdout first: the remote login shell may print noise on stderr.
  const output = result.exitCode === 0 ? result.stdout : `${result.stdout}\n${result.stderr}`;
  return parseGpuMetrics(output, result.exitCode);
}

export const gpuMetricsPlugin: Plugin<GpuMetricsSection> = {
  name: 'gpu-metrics',
  version: '1.0.0',
  apiVersion: '1.2',
  description: 'GPU utilisation, memory, temperature and power from nvidia-smi.',
  config: { key: 'gpu_metrics', schema: gpuMetricsSectionSchema },
  commands: [
    {
      name: 'gpu',
      summary: 'Show GPU utilisation, memory, temperature and power on the host',
      description: 'Runs nvidia-smi once on the host the project last connected to (in the container for the local target).',
      examples: ['mltoolbox plugins run gpu', 'mltoolbox plugins run gpu --json'],
      async run(_input, context) {
        const metrics = await readGpuMetrics(context);
        return {
          result: metrics,
          human: `${formatGpuMetrics(metrics).join('\n')}\n`,
          ...(metrics.status === 'ok' ? {} : { exitCode: 1 }),
        };
      },
    },
  ],
  hooks: {
    connectComplete: {
      timeoutMs: 15_000,
      async handler(_payload, context) {
        if (context.config.section?.on_connect === false) return;
        if (!context.host && !context.container) return;
        const metrics = await readGpuMetrics(context);
        if (metrics.status === 'ok') context.logger.info(`GPUs: ${summarizeGpuMetrics(metrics)}`);
        else context.logger.debug(`GPU metrics: ${metrics.reason}`);
      },
    },
  },
};
