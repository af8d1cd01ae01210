import type { GpuSample, MetricsSample } from '../protocol.ts';

/**
 * A host's last samples for the dashboard's charts, kept as numbers in one
 * Float64Array ring instead of one object tree per sample (53 numbers for 8
 * GPUs: 424 bytes a sample), grown as samples come.
 * GPU names and uuids come from the newest sample (they do not change while
 * an agent runs); a null figure is stored as NaN.
 */
const PER_GPU = 6; // utilization, memory used, memory total, temperature, power draw, power limit
const HEAD = 5; // at, cpu, memory used, memory total, GPU count
const MAX_GPUS = 64;

const put = (value: number | null) => (value === null ? Number.NaN : value);
const get = (value: number) => (Number.isNaN(value) ? null : value);

export class MetricsHistory {
  private rows: Float64Array;
  private width: number;
  private start = 0;
  private count = 0;
  private newest: MetricsSample | null = null;
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.width = HEAD;
    this.rows = new Float64Array(0);
  }

  push(sample: MetricsSample): void {
    const gpus = Math.min(sample.gpus.length, MAX_GPUS);
    const width = HEAD + gpus * PER_GPU;
    // More GPUs than the rows have room for (rare: a new driver sees more): widen, keeping what is there.
    if (width > this.width) this.resize(width, this.allocated());
    // Rows are added as samples come (doubling), so a host that just connected costs little.
    if (this.count < this.capacity && this.count === this.allocated()) this.resize(this.width, Math.min(this.capacity, Math.max(8, this.count * 2)));
    const slot = (this.start + this.count) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
    else this.start = (this.start + 1) % this.capacity;
    const row = this.rows.subarray(slot * this.width, (slot + 1) * this.width);
    row.fill(Number.NaN);
    row[0] = sample.at;
    row[1] = put(sample.cpuPercent);
    row[2] = put(sample.memoryUsedBytes);
    row[3] = put(sample.memoryTotalBytes);
    row[4] = gpus;
    sample.gpus.slice(0, gpus).forEach((g, i) => {
      const at = HEAD + i * PER_GPU;
      row.set([put(g.utilizationPercent), put(g.memoryUsedMiB), put(g.memoryTotalMiB), put(g.temperatureC), put(g.powerDrawW), put(g.powerLimitW)], at);
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
      const row = this.rows.subarray(slot * this.width, (slot + 1) * this.width);
      const gpus: GpuSample[] = [];
      for (let i = 0; i < row[4]!; i++) {
        const at = HEAD + i * PER_GPU;
        gpus.push({
          index: names[i]?.index ?? i, uuid: names[i]?.uuid ?? '', name: names[i]?.name ?? '',
          utilizationPercent: get(row[at]!), memoryUsedMiB: get(row[at + 1]!), memoryTotalMiB: get(row[at + 2]!),
          temperatureC: get(row[at + 3]!), powerDrawW: get(row[at + 4]!), powerLimitW: get(row[at + 5]!),
        });
      }
      out.push({ at: row[0]!, cpuPercent: get(row[1]!), memoryUsedBytes: get(row[2]!), memoryTotalBytes: get(row[3]!), gpus, ...(k === this.count - 1 && this.newest?.gpuNote ? { gpuNote: this.newest.gpuNote } : {}) });
    }
    return out;
  }

  private allocated(): number {
    return this.rows.length / this.width;
  }

  private resize(width: number, rows: number): void {
    const old = this.samples();
    this.width = width;
    this.rows = new Float64Array(Math.max(rows, old.length) * width);
    this.start = 0;
    this.count = 0;
    const newest = this.newest;
    for (const sample of old) this.push(sample);
    this.newest = newest;
  }
}
