import { nvidiaSmiQueryArgs, parseNvidiaSmi, type GpuInfo, type NvidiaSmiReport } from '../../core/gpu/nvidia-smi.ts';

/**
 * GPU utilisation, memory, temperature and power in one nvidia-smi round
 * trip. The query is doctor's (with a header), so columns are found by name
 * and the parser is the one doctor uses.
 */

export function gpuMetricsCommand(): string[] {
  return ['nvidia-smi', ...nvidiaSmiQueryArgs()];
}

export type GpuMetric = Pick<GpuInfo, 'index' | 'name' | 'utilizationPercent' | 'memoryUsedMiB' | 'memoryTotalMiB' | 'temperatureC' | 'powerDrawW'>;

export type GpuMetrics =
  | { status: 'ok'; gpus: GpuMetric[] }
  | { status: 'unavailable'; reason: string };

export function toGpuMetrics(report: NvidiaSmiReport): GpuMetrics {
  switch (report.kind) {
    case 'gpus':
      return { status: 'ok', gpus: report.gpus.map(metric) };
    case 'not-installed':
      return { status: 'unavailable', reason: 'nvidia-smi is not installed (no NVIDIA driver on this host)' };
    case 'no-driver':
      return { status: 'unavailable', reason: `NVIDIA driver not answering: ${report.message}` };
    case 'version-mismatch':
      return { status: 'unavailable', reason: `NVIDIA driver/library version mismatch (reboot the host): ${report.message}` };
    case 'error':
      return { status: 'unavailable', reason: report.message };
  }
}

export function parseGpuMetrics(output: string, exitCode: number): GpuMetrics {
  return toGpuMetrics(parseNvidiaSmi(output, exitCode));
}

function metric(gpu: GpuInfo): GpuMetric {
  return {
    index: gpu.index,
    name: gpu.name,
    utilizationPercent: gpu.utilizationPercent,
    memoryUsedMiB: gpu.memoryUsedMiB,
    memoryTotalMiB: gpu.memoryTotalMiB,
    temperatureC: gpu.temperatureC,
    powerDrawW: gpu.powerDrawW,
  };
}

const dash = '–';
const show = (value: number | null, unit: string) => (value === null ? dash : `${Math.round(value)}${unit}`);

function memory(gpu: GpuMetric): string {
  if (gpu.memoryUsedMiB === null && gpu.memoryTotalMiB === null) return dash;
  const gib = (mib: number | null) => (mib === null ? '?' : (mib / 1024).toFixed(1));
  return `${gib(gpu.memoryUsedMiB)}/${gib(gpu.memoryTotalMiB)} GiB`;
}

/** One aligned line per GPU, e.g. `0  NVIDIA A10  util 35%  mem 4.1/22.5 GiB  61°C  120W`. */
export function formatGpuMetrics(metrics: GpuMetrics): string[] {
  if (metrics.status === 'unavailable') return [`GPU metrics unavailable: ${metrics.reason}`];
  const rows = metrics.gpus.map((gpu) => [
    String(gpu.index), gpu.name, `util ${show(gpu.utilizationPercent, '%')}`, `mem ${memory(gpu)}`, show(gpu.temperatureC, '°C'), show(gpu.powerDrawW, 'W'),
  ]);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd());
}

/** A one-line summary for status lines: "2 GPUs, avg util 63%, 41.0/160.0 GiB". */
export function summarizeGpuMetrics(metrics: GpuMetrics): string {
  if (metrics.status === 'unavailable') return `unavailable (${metrics.reason})`;
  const { gpus } = metrics;
  const utils = gpus.map((g) => g.utilizationPercent).filter((v): v is number => v !== null);
  const used = gpus.reduce((sum, g) => sum + (g.memoryUsedMiB ?? 0), 0);
  const total = gpus.reduce((sum, g) => sum + (g.memoryTotalMiB ?? 0), 0);
  const parts = [`${gpus.length} GPU${gpus.length === 1 ? '' : 's'}`];
  if (utils.length > 0) parts.push(`avg util ${Math.round(utils.reduce((a, b) => a + b, 0) / utils.length)}%`);
  if (total > 0) parts.push(`${(used / 1024).toFixed(1)}/${(total / 1024).toFixed(1)} GiB`);
  return parts.join(', ');
}
