import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { describeGpus, nvidiaSmiQueryArgs, parseNvidiaSmi, type GpuInfo } from '../../../../src/services/gpu/nvidia-smi.ts';

const FIXTURES = new URL('../../../fixtures/nvidia-smi/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
const gpus = (name: string): GpuInfo[] => {
  const report = parseNvidiaSmi(fixture(name), 0);
  assert.equal(report.kind, 'gpus', `${name}: ${JSON.stringify(report)}`);
  return report.kind === 'gpus' ? report.gpus : [];
};

describe('parseNvidiaSmi', () => {
  it('h100x8.csv: eight GPUs with units stripped', () => {
    const list = gpus('h100x8.csv');
    assert.equal(list.length, 8);
    assert.deepEqual(list[0], {
      index: 0, uuid: 'GPU-5a3c0000-1c2d-4e5f-8a9b-0c1d2e3f4a00', name: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: 91, memoryUsedMiB: 70213, memoryTotalMiB: 81559, temperatureC: 61, powerDrawW: 598, powerLimitW: 700,
    });
    assert.equal(list[7]!.utilizationPercent, 0);
    assert.equal(list[7]!.powerDrawW, 71.18);
    assert.equal(describeGpus(list), '8× NVIDIA H100 80GB HBM3 (80 GiB)');
  });

  it('h100x8-nounits.csv (noheader,nounits) parses to the same values', () => {
    assert.deepEqual(gpus('h100x8-nounits.csv'), gpus('h100x8.csv'));
  });

  it('a10.csv: one idle GPU', () => {
    const [gpu] = gpus('a10.csv');
    assert.equal(gpu!.name, 'NVIDIA A10');
    assert.equal(gpu!.utilizationPercent, 0);
    assert.equal(gpu!.memoryTotalMiB, 23028);
    assert.equal(describeGpus(gpus('a10.csv')), 'NVIDIA A10 (22 GiB)');
  });

  it('rtx4090.csv: [N/A] and [Not Supported] power become null, not 0', () => {
    const [gpu] = gpus('rtx4090.csv');
    assert.equal(gpu!.powerDrawW, null);
    assert.equal(gpu!.powerLimitW, null);
    assert.equal(gpu!.utilizationPercent, 35);
  });

  it('a100-mig.csv: utilization not available at GPU level', () => {
    const list = gpus('a100-mig.csv');
    assert.equal(list[0]!.utilizationPercent, null);
    assert.equal(list[1]!.utilizationPercent, 0);
    assert.equal(list[0]!.memoryUsedMiB, 13);
  });

  it('command-not-found.txt (exit 127): not installed', () => {
    assert.deepEqual(parseNvidiaSmi(fixture('command-not-found.txt'), 127), { kind: 'not-installed' });
    assert.deepEqual(parseNvidiaSmi('bash: nvidia-smi: command not found', 127), { kind: 'not-installed' });
  });

  it('no-driver.txt (exit 9): driver not loaded', () => {
    const report = parseNvidiaSmi(fixture('no-driver.txt'), 9);
    assert.equal(report.kind, 'no-driver');
    assert.match((report as { message: string }).message, /couldn't communicate with the NVIDIA driver/);
  });

  it('nvml-mismatch.txt: driver/library version mismatch', () => {
    const report = parseNvidiaSmi(fixture('nvml-mismatch.txt'), 18);
    assert.deepEqual(report, { kind: 'version-mismatch', message: 'Failed to initialize NVML: Driver/library version mismatch' });
  });

  it('every fixture file is recognised (none falls through to a generic error)', () => {
    const codes: Record<string, number> = { 'command-not-found.txt': 127, 'no-driver.txt': 9, 'nvml-mismatch.txt': 18 };
    for (const name of readdirSync(FIXTURES).filter((n) => n !== 'README.md')) {
      const report = parseNvidiaSmi(fixture(name), codes[name] ?? 0);
      assert.notEqual(report.kind, 'error', name);
    }
  });

  it('reads extra columns by header name (driver_version, as doctor queries)', () => {
    const text = 'index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W], power.limit [W], driver_version\n'
      + '0, GPU-x, NVIDIA A10, 3 %, 1 MiB, 23028 MiB, 30, 15.00 W, 150.00 W, 550.54.15\n';
    const report = parseNvidiaSmi(text, 0);
    assert.equal(report.kind === 'gpus' && report.gpus[0]!.driverVersion, '550.54.15');
    assert.match(nvidiaSmiQueryArgs()[0]!, /^--query-gpu=index,uuid,name,.*,driver_version$/);
  });

  it('other failures and empty output are errors with the first line', () => {
    assert.deepEqual(parseNvidiaSmi('Unable to determine the device handle for GPU0000:00:1E.0: Unknown Error', 15), {
      kind: 'error', message: 'Unable to determine the device handle for GPU0000:00:1E.0: Unknown Error',
    });
    assert.equal(parseNvidiaSmi('', 0).kind, 'error');
  });

  it('mixed cards are listed by kind', () => {
    const base = gpus('a10.csv')[0]!;
    assert.equal(describeGpus([base, base, { ...base, name: 'Tesla T4', memoryTotalMiB: 15360 }]), '2× NVIDIA A10 (22 GiB), Tesla T4 (15 GiB)');
  });
});
