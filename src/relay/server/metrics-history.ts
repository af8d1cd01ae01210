import type { GpuSample, MetricsSample } from '../protocol.ts';

/**
 * A host's last samples for the dashboard's charts, kept as numbers in typed
 * array rings instead of one object tree per sample, grown as samples come:
 * the head (time, CPU, memory bytes) as float64, the GPU figures as float32
 * (8 GPUs: 5 × 8 + 48 × 4 = 232 bytes a sample instead of 424; 300 samples of
 * 100 hosts 6.6 MiB instead of 12). GPU figures are what nvidia-smi prints —
 * integers, or at most two decimals (power) — and read back rounded to two
 * decimals, so they come back as they were sent.
 * GPU names and uuids come from the newest sample (they do not change while
 * an agent runs); a null figure is stored as NaN.
 */
const PER_GPU = 6; // utilization, memory used, memory total, temperature, power draw, power limit
const HEAD = 5; // at, cpu, memory used, memory total, GPU count
const MAX_GPUS = 64;

const put = (value: number | null) => (value === null ? Number.NaN : value);
const get = (value: number) => (Number.isNaN(value) ? null : value);
/** A float32 GPU figure back to what was sent (two decimals at most). */
const getGpu = (value: number) => (Number.isNaN(value) ? null : Math.round(value * 100) / 100);

export class MetricsHistory {
  /** HEAD numbers a row. */
  private heads: Float64Array;
  /** `gpuWidth` numbers a row (PER_GPU for each GPU the rows have room for). */
  private gpuRows: Float32Array;
  private gpuWidth: number;
  private start = 0;
  private count = 0;
  private newest: MetricsSample | null = null;
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.gpuWidth = 0;
    this.heads = new Float64Array(0);
    this.gpuRows = new Float32Array(0);
  }

  push(sample: MetricsSample): void {
    const gpus = Math.min(sample.gpus.length, MAX_GPUS);
    // More GPUs than the rows have room for (rare: a new driver sees more): widen, keeping what is there.
    if (gpus * PER_GPU > this.gpuWidth) this.resize(gpus * PER_GPU, this.allocated());
    // Rows are added as samples come (doubling), so a host that just connected costs little.
    if (this.count < this.capacity && this.count === this.allocated()) this.resize(this.gpuWidth, Math.min(this.capacity, Math.max(8, this.count * 2)));
    const slot = (this.start + this.count) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
    else this.start = (this.start + 1) % this.capacity;
    this.heads.set([sample.at, put(sample.cpuPercent), put(sample.memoryUsedBytes), put(sample.memoryTotalBytes), gpus], slot * HEAD);
    const row = this.gpuRows.subarray(slot * this.gpuWidth, (slot + 1) * this.gpuWidth);
    row.fill(Number.NaN);
    sample.gpus.slice(0, gpus).forEach((g, i) => {
      row.set([put(g.utilizationPercent), put(g.memoryUsedMiB), put(g.memoryTotalMiB), put(g.temperatureC), put(g.powerDrawW), put(g.powerLimitW)], i * PER_GPU);
    });
    this.newest = sample;
  }

  latest(): MetricsSample | null {
    return this.newest;
  }

  /** Oldest first, as the API has always answered. */
  samples(): MetricsSample[] {
    const names = this.newest?.gpus ?? [];
    const out: MetricsSample[] = [];
    for (let k = 0; k < this.count; k++) {
      const slot = (this.start + k) % this.capacity;
      const head = this.heads.subarray(slot * HEAD, (slot + 1) * HEAD);
      const row = this.gpuRows.subarray(slot * this.gpuWidth, (slot + 1) * this.gpuWidth);
      const gpus: GpuSample[] = [];
      for (let i = 0; i < head[4]!; i++) {
        const at = i * PER_GPU;
        gpus.push({
          index: names[i]?.index ?? i, uuid: names[i]?.uuid ?? '', name: names[i]?.name ?? '',
          utilizationPercent: getGpu(row[at]!), memoryUsedMiB: getGpu(row[at + 1]!), memoryTotalMiB: getGpu(row[at + 2]!),
          temperatureC: getGpu(row[at + 3]!), powerDrawW: getGpu(row[at + 4]!), powerLimitW: getGpu(row[at + 5]!),
        });
      }
      out.push({ at: head[0]!, cpuPercent: get(head[1]!), memoryUsedBytes: get(head[2]!), memoryTotalBytes: get(head[3]!), gpus, ...(k === this.count - 1 && this.newest?.gpuNote ? { gpuNote: this.newest.gpuNote } : {}) });
    }
    return out;
  }

  private allocated(): number {
    return this.heads.length / HEAD;
  }

  private resize(gpuWidth: number, rows: number): void {
    const old = this.samples();
    const size = Math.max(rows, old.length);
    this.gpuWidth = gpuWidth;
    this.heads = new Float64Array(size * HEAD);
    this.gpuRows = new Float32Array(size * gpuWidth);
    this.start = 0;
    this.count = 0;
    const newest = this.newest;
    for (const sample of old) this.push(sample);
    this.newest = newest;
  }
}
