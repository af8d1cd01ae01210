/**
 * Reads `nvidia-smi --query-gpu=... --format=csv` output. The header names
 * the columns (with units: `memory.used [MiB]`), so columns are found by
 * name and extra ones (driver_version) are fine; the `noheader` form is
 * read in QUERY_FIELDS order. Absent values (`[N/A]`, `[Not Supported]`)
 * become null, never 0.
 */

export const QUERY_FIELDS = [
  'index', 'uuid', 'name', 'utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw', 'power.limit',
] as const;

/** The argv doctor and metrics run; driver_version last so the fixtures' column order still holds. */
export function nvidiaSmiQueryArgs(): string[] {
  return [`--query-gpu=${[...QUERY_FIELDS, 'driver_version'].join(',')}`, '--format=csv'];
}

export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  /** Percent; null when not available (e.g. MIG mode). */
  utilizationPercent: number | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  temperatureC: number | null;
  powerDrawW: number | null;
  powerLimitW: number | null;
  driverVersion?: string;
}

export type NvidiaSmiReport =
  | { kind: 'gpus'; gpus: GpuInfo[] }
  /** nvidia-smi is not installed: no NVIDIA driver on this host. */
  | { kind: 'not-installed' }
  /** Installed, but the kernel driver is not loaded / not answering. */
  | { kind: 'no-driver'; message: string }
  /** The driver was upgraded and the host not rebooted. */
  | { kind: 'version-mismatch'; message: string }
  | { kind: 'error'; message: string };

const ABSENT = /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU is lost|Requested functionality has been deprecated)\]?$/i;

function number(value: string | undefined): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (text === '' || ABSENT.test(text)) return null;
  const match = /^(-?\d+(?:\.\d+)?)\s*(?:%|MiB|W|C|MHz)?$/.exec(text);
  return match ? Number(match[1]) : null;
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' || ABSENT.test(trimmed) ? undefined : trimmed;
}

function columnName(header: string): string {
  return header.trim().replace(/\s*\[[^\]]*\]$/, '');
}

/** Parses the output (stdout and stderr together are fine) and nvidia-smi's exit status. */
export function parseNvidiaSmi(output: string, exitCode: number): NvidiaSmiReport {
  const trimmed = output.trim();
  if (exitCode === 127 || /nvidia-smi: (command )?not found|nvidia-smi: No such file or directory/.test(trimmed)) return { kind: 'not-installed' };
  if (/version mismatch/i.test(trimmed)) return { kind: 'version-mismatch', message: firstLine(trimmed) };
  if (/couldn't communicate with the NVIDIA driver|No devices were found|NVIDIA driver is not loaded/i.test(trimmed)) {
    return { kind: 'no-driver', message: firstLine(trimmed) };
  }
  if (exitCode !== 0) return { kind: 'error', message: firstLine(trimmed) || `nvidia-smi exited with ${exitCode}` };

  const lines = trimmed.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  let columns: string[] = [...QUERY_FIELDS];
  const headerAt = lines.findIndex((l) => /^index\s*,/.test(l) || /(^|,\s*)name(\s*,|$)/.test(l));
  if (headerAt !== -1) columns = lines[headerAt]!.split(',').map(columnName);
  const rows = lines.slice(headerAt + 1).map((l) => l.split(',')).filter((cells) => cells.length >= columns.length && /^\s*\d+\s*$/.test(cells[0] ?? ''));

  const gpus = rows.map((cells): GpuInfo => {
    const get = (name: string) => {
      const at = columns.indexOf(name);
      return at === -1 ? undefined : cells[at];
    };
    const driverVersion = text(get('driver_version'));
    return {
      index: number(get('index')) ?? 0,
      uuid: text(get('uuid')) ?? '',
      name: text(get('name')) ?? 'unknown GPU',
      utilizationPercent: number(get('utilization.gpu')),
      memoryUsedMiB: number(get('memory.used')),
      memoryTotalMiB: number(get('memory.total')),
      temperatureC: number(get('temperature.gpu')),
      powerDrawW: number(get('power.draw')),
      powerLimitW: number(get('power.limit')),
      ...(driverVersion ? { driverVersion } : {}),
    };
  });
  if (gpus.length === 0) return { kind: 'error', message: firstLine(trimmed) || 'nvidia-smi listed no GPUs' };
  return { kind: 'gpus', gpus };
}

/** "8× NVIDIA H100 80GB HBM3 (80 GiB)" or "NVIDIA A10, NVIDIA T4". */
export function describeGpus(gpus: readonly GpuInfo[]): string {
  const groups = new Map<string, number>();
  for (const gpu of gpus) {
    const memory = gpu.memoryTotalMiB === null ? '' : ` (${Math.round(gpu.memoryTotalMiB / 1024)} GiB)`;
    const label = `${gpu.name}${memory}`;
    groups.set(label, (groups.get(label) ?? 0) + 1);
  }
  return [...groups].map(([label, count]) => (count > 1 ? `${count}× ${label}` : label)).join(', ');
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}
