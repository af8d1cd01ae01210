import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatGpuMetrics, gpuMetricsCommand, parseGpuMetrics, summarizeGpuMetrics } from '../../../../src/plugins/gpu-metrics/metrics.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');

describe('gpu metrics', () => {
  it('one nvidia-smi call with a header (columns found by name)', () => {
    const argv = gpuMetricsCommand();
    assert.equal(argv[0], 'nvidia-smi');
    assert.ok(argv.some((a) => a.startsWith('--query-gpu=') && a.includes('utilization.gpu') && a.includes('power.draw')));
    assert.ok(argv.includes('--format=csv'));
  });

  it('h100x8: eight GPUs with utilisation, memory, temperature, power', () => {
    const metrics = parseGpuMetrics(fixture('h100x8.csv'), 0);
    assert.equal(metrics.status, 'ok');
    if (metrics.status !== 'ok') return;
    assert.equal(metrics.gpus.length, 8);
    assert.deepEqual(metrics.gpus[0], {
      index: 0, name: 'NVIDIA H100 80GB HBM3', utilizationPercent: 91, memoryUsedMiB: 70213, memoryTotalMiB: 81559, temperatureC: 61, powerDrawW: 598,
    });
    assert.equal(formatGpuMetrics(metrics).length, 8);
    assert.match(summarizeGpuMetrics(metrics), /^8 GPUs, avg util \d+%, [\d.]+\/[\d.]+ GiB$/);
  });

  it('noheader,nounits form', () => {
    const metrics = parseGpuMetrics(fixture('h100x8-nounits.csv'), 0);
    assert.equal(metrics.status, 'ok');
    if (metrics.status === 'ok') assert.equal(metrics.gpus[0]!.utilizationPercent, 91);
  });

  it('GeForce without power readings and MIG without utilisation show a dash, not 0', () => {
    const rtx = parseGpuMetrics(fixture('rtx4090.csv'), 0);
    assert.ok(rtx.status === 'ok' && rtx.gpus[0]!.powerDrawW === null);
    assert.match(formatGpuMetrics(rtx)[0]!, /–$/);
    const mig = parseGpuMetrics(fixture('a100-mig.csv'), 0);
    assert.ok(mig.status === 'ok' && mig.gpus[0]!.utilizationPercent === null);
    assert.match(formatGpuMetrics(mig)[0]!, /util –/);
    assert.equal(summarizeGpuMetrics(mig), '2 GPUs, avg util 0%, 0.0/160.0 GiB');
  });

  it('single A10 formats one aligned line', () => {
    const lines = formatGpuMetrics(parseGpuMetrics(fixture('a10.csv'), 0));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^0 {2}NVIDIA A10 {2}util \d+% {2}mem [\d.]+\/[\d.]+ GiB {2}\d+°C {2}\d+W$/);
  });

  it('no GPU, no driver and a driver mismatch are reported, not thrown', () => {
    const missing = parseGpuMetrics(fixture('command-not-found.txt'), 127);
    assert.equal(missing.status, 'unavailable');
    assert.match(formatGpuMetrics(missing)[0]!, /not installed/);
    const noDriver = parseGpuMetrics(fixture('no-driver.txt'), 9);
    assert.ok(noDriver.status === 'unavailable' && /driver/i.test(noDriver.reason));
    const mismatch = parseGpuMetrics(fixture('nvml-mismatch.txt'), 18);
    assert.ok(mismatch.status === 'unavailable' && /mismatch/.test(mismatch.reason));
  });
});
