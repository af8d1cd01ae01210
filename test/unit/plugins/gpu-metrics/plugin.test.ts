import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { HookObject } from '../../../../src/plugin-api/index.ts';
import { gpuMetricsPlugin, type GpuMetricsSection } from '../../../../src/plugins/gpu-metrics/index.ts';
import { fakeContext } from '../fake-context.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');
const command = gpuMetricsPlugin.commands!.find((c) => c.name === 'gpu')!;
const input = { args: {}, options: {}, rest: [] };

describe('gpu-metrics plugin', () => {
  it('`gpu` asks the host once and renders one line per GPU; --json has the numbers', async () => {
    const fake = fakeContext<GpuMetricsSection>({ host: true, exec: () => ({ stdout: fixture('h100x8.csv'), stderr: 'pyenv: command not found\n' }) });
    const result = await command.run(input, fake.context);
    assert.equal(fake.calls.length, 1);
    assert.equal(fake.calls[0]!.where, 'host');
    assert.equal(fake.calls[0]!.argv[0], 'nvidia-smi');
    assert.ok(result);
    assert.equal(result.human!.trim().split('\n').length, 8);
    const metrics = result.result as { status: string; gpus: Array<{ utilizationPercent: number; powerDrawW: number }> };
    assert.equal(metrics.status, 'ok');
    assert.equal(metrics.gpus[0]!.utilizationPercent, 91);
    assert.equal(result.exitCode, undefined);
  });

  it('uses the container for the local target (no host)', async () => {
    const fake = fakeContext<GpuMetricsSection>({ exec: () => ({ stdout: fixture('a10.csv') }) });
    await command.run(input, fake.context);
    assert.equal(fake.calls[0]!.where, 'container');
  });

  it('a host without NVIDIA tools: exit 1, the reason, no throw', async () => {
    const fake = fakeContext<GpuMetricsSection>({ host: true, exec: () => ({ exitCode: 127, stderr: 'bash: line 1: nvidia-smi: command not found\n' }) });
    const result = await command.run(input, fake.context);
    assert.ok(result);
    assert.equal(result.exitCode, 1);
    assert.match(result.human!, /not installed/);
  });

  it('driver mismatch is reported', async () => {
    const fake = fakeContext<GpuMetricsSection>({ host: true, exec: () => ({ exitCode: 18, stdout: fixture('nvml-mismatch.txt') }) });
    const result = await command.run(input, fake.context);
    assert.match(result!.human!, /mismatch/);
  });

  it('no connection at all is an error with a hint', async () => {
    const fake = fakeContext<GpuMetricsSection>({ container: false });
    await assert.rejects(Promise.resolve(command.run(input, fake.context)), (error: Error & { hint?: string }) => /connect/.test(error.hint ?? ''));
  });

  it('connectComplete prints a one-line summary unless turned off', async () => {
    const hook = gpuMetricsPlugin.hooks!.connectComplete as HookObject<'connectComplete', GpuMetricsSection>;
    const payload = { target: 'gpu-box', project: 'demo', container: { id: 'c', name: 'n', image: 'i', action: 'reused' as const, ports: [], workdir: '/workspace' }, forwards: [] };
    const on = fakeContext<GpuMetricsSection>({ host: true, exec: () => ({ stdout: fixture('a10.csv') }) });
    await hook.handler(payload, on.context);
    assert.ok(on.logs.some((l) => /^info: GPUs: 1 GPU, avg util 0%/.test(l)));
    const off = fakeContext<GpuMetricsSection>({ host: true, section: { on_connect: false } });
    await hook.handler(payload, off.context);
    assert.deepEqual(off.calls, []);
  });
});
