import { parseNvidiaSmi, QUERY_FIELDS, type GpuInfo } from '../../core/gpu/nvidia-smi.ts';
import type { Host } from '../host/types.ts';

/* The GPU status `mltoolbox status` and the agent's `mlt status` show: one reading of nvidia-smi, on whichever Host. */

/** What `status` says about the engine host's GPUs. Never an error: status must still print. */
export type GpuStatus =
  | { state: 'gpus'; gpus: GpuInfo[] }
  /** nvidia-smi missing, or the driver not loaded. */
  | { state: 'none'; message: string }
  | { state: 'error'; message: string };

export const NVIDIA_SMI_ARGS = [`--query-gpu=${QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
const TIMEOUT_MS = 15_000;

export function gpuStatusFromOutput(output: string, exitCode: number): GpuStatus {
  const report = parseNvidiaSmi(output, exitCode);
  switch (report.kind) {
    case 'gpus':
      return { state: 'gpus', gpus: report.gpus };
    case 'not-installed':
      return { state: 'none', message: 'no NVIDIA driver (nvidia-smi not found)' };
    case 'no-driver':
      return { state: 'none', message: `no NVIDIA driver loaded: ${report.message}` };
    default:
      return { state: 'error', message: report.message };
  }
}

/** nvidia-smi on the engine's host, in one round trip; its stderr folded into stdout (a login shell's noise stays out). */
export async function gpuStatus(host: Host): Promise<GpuStatus> {
  try {
    const result = await host.execScript(`nvidia-smi ${NVIDIA_SMI_ARGS.join(' ')} 2>&1`, { timeoutMs: TIMEOUT_MS });
    return gpuStatusFromOutput(result.stdout, result.exitCode);
  } catch (error) {
    return { state: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}

const gib = (mib: number) => (mib / 1024).toFixed(1);

/** `0: NVIDIA A10 · 12% · 3.1/22.5 GiB · 41°C`; absent values are left out, never shown as 0. */
export function describeGpu(gpu: GpuInfo): string {
  const parts = [`${gpu.index}: ${gpu.name}`];
  if (gpu.utilizationPercent !== null) parts.push(`${gpu.utilizationPercent}%`);
  if (gpu.memoryTotalMiB !== null) parts.push(`${gpu.memoryUsedMiB === null ? '?' : gib(gpu.memoryUsedMiB)}/${gib(gpu.memoryTotalMiB)} GiB`);
  if (gpu.temperatureC !== null) parts.push(`${gpu.temperatureC}°C`);
  return parts.join(' · ');
}

/** The lines after `gpu` in `status`. */
export function describeGpuStatus(status: GpuStatus): string[] {
  if (status.state === 'gpus') return status.gpus.map(describeGpu);
  if (status.state === 'none') return [status.message];
  return [`unknown: ${status.message}`];
}
