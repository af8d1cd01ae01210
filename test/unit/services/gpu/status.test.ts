import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { describeGpuStatus, gpuStatus, gpuStatusFromOutput, NVIDIA_SMI_ARGS } from '../../../../src/services/gpu/status.ts';
import { createLocalHost } from '../../../../src/services/host/index.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');

describe('status: GPUs', () => {
  it('asks nvidia-smi for the noheader,nounits form', () => {
    assert.match(NVIDIA_SMI_ARGS[0]!, /^--query-gpu=index,uuid,name,utilization\.gpu,memory\.used,memory\.total/);
    assert.equal(NVIDIA_SMI_ARGS[1], '--format=csv,noheader,nounits');
  });

  it('renders one line per GPU from the nounits output', () => {
    const status = gpuStatusFromOutput(fixture('h100x8-nounits.csv'), 0);
    assert.equal(status.state, 'gpus');
    const lines = describeGpuStatus(status);
    assert.equal(lines.length, 8);
    assert.match(lines[0]!, /^0: NVIDIA H100 80GB HBM3 · \d+% · \d+\.\d\/\d+\.\d GiB · \d+°C$/);
  });

  it('leaves out values the GPU does not report instead of printing 0', () => {
    const status = gpuStatusFromOutput(fixture('a100-mig.csv'), 0);
    assert.equal(status.state, 'gpus');
    for (const line of describeGpuStatus(status)) assert.doesNotMatch(line, /N\/A|null|undefined/);
    assert.doesNotMatch(describeGpuStatus(status)[0]!, / \d+% /, 'MIG: no utilization at GPU level');
  });

  it('a host without nvidia-smi or without a loaded driver is a "no NVIDIA driver" line, not an error', () => {
    const missing = gpuStatusFromOutput(fixture('command-not-found.txt'), 127);
    assert.deepEqual(missing, { state: 'none', message: 'no NVIDIA driver (nvidia-smi not found)' });
    const unloaded = gpuStatusFromOutput(fixture('no-driver.txt'), 9);
    assert.equal(unloaded.state, 'none');
    assert.match(describeGpuStatus(unloaded)[0]!, /^no NVIDIA driver loaded: NVIDIA-SMI has failed/);
  });

  it('a driver/library mismatch is reported as it is', () => {
    const status = gpuStatusFromOutput(fixture('nvml-mismatch.txt'), 18);
    assert.equal(status.state, 'error');
    assert.match(describeGpuStatus(status)[0]!, /^unknown: .*mismatch/i);
  });

  it('on this machine (no GPU) the local probe says so without throwing', async () => {
    const status = await gpuStatus(createLocalHost({ env: { PATH: '/usr/bin:/bin' } }));
    assert.deepEqual(status, { state: 'none', message: 'no NVIDIA driver (nvidia-smi not found)' });
  });
});
