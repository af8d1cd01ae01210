import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { nvidiaSmiQueryArgs, parseNvidiaSmi } from '../../core/gpu/nvidia-smi.ts';
import type { GpuSample, MetricsSample } from '../../relay/protocol.ts';

/**
 * Host metrics for the daemon, from what every Linux host has: /proc for CPU
 * and memory, nvidia-smi (read by the shared parser) for GPUs.
 */
export interface CpuTimes {
  idle: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  if (values.length < 4 || values.some((v) => !Number.isFinite(v))) return undefined;
  const idle = values[3]! + (values[4] ?? 0);
  return { idle, total: values.reduce((a, b) => a + b, 0) };
}

/** Busy share between two readings, in percent; null without a usable interval. */
export function cpuPercent(before: CpuTimes | undefined, after: CpuTimes | undefined): number | null {
  if (!before || !after) return null;
  const total = after.total - before.total;
  if (total <= 0) return null;
  return Math.round(((total - (after.idle - before.idle)) / total) * 1000) / 10;
}

/** /proc/meminfo: used = total − available. */
export function parseMeminfo(text: string): { usedBytes: number; totalBytes: number } | undefined {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const total = field('MemTotal');
  const available = field('MemAvailable');
  if (total === undefined || available === undefined) return undefined;
  return { usedBytes: total - available, totalBytes: total };
}

function runNvidiaSmi(env: NodeJS.ProcessEnv): Promise<{ output: string; exitCode: number }> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', nvidiaSmiQueryArgs(), { env, timeout: 5000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : (error as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 1) : 0;
      resolve({ output: `${stdout}${stderr}`, exitCode: code });
    });
  });
}

export async function readGpus(env: NodeJS.ProcessEnv): Promise<{ gpus: GpuSample[]; note?: string }> {
  const { output, exitCode } = await runNvidiaSmi(env);
  const report = parseNvidiaSmi(output, exitCode);
  switch (report.kind) {
    case 'gpus':
      return {
        gpus: report.gpus.map((g) => ({
          index: g.index, uuid: g.uuid, name: g.name, utilizationPercent: g.utilizationPercent, memoryUsedMiB: g.memoryUsedMiB,
          memoryTotalMiB: g.memoryTotalMiB, temperatureC: g.temperatureC, powerDrawW: g.powerDrawW, powerLimitW: g.powerLimitW,
        })),
      };
    case 'not-installed':
      return { gpus: [], note: 'no NVIDIA driver (nvidia-smi not installed)' };
    default:
      return { gpus: [], note: report.message.slice(0, 300) };
  }
}

/** Samples CPU (against the previous reading), memory and GPUs. */
export function createSampler(env: NodeJS.ProcessEnv, read: (file: string) => Promise<string> = (file) => readFile(file, 'utf8')): () => Promise<MetricsSample> {
  let previous: CpuTimes | undefined;
  return async () => {
    const [stat, meminfo, gpu] = await Promise.all([read('/proc/stat').catch(() => ''), read('/proc/meminfo').catch(() => ''), readGpus(env)]);
    const times = parseProcStat(stat);
    const cpu = cpuPercent(previous, times);
    previous = times;
    const memory = parseMeminfo(meminfo);
    return {
      at: Date.now(),
      cpuPercent: cpu,
      memoryUsedBytes: memory?.usedBytes ?? null,
      memoryTotalBytes: memory?.totalBytes ?? null,
      gpus: gpu.gpus,
      ...(gpu.note ? { gpuNote: gpu.note } : {}),
    };
  };
}
