import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import type { Doctor } from '../../../../src/orchestrators/doctor/doctor.ts';
import { withHostFixes } from '../../../../src/orchestrators/doctor/fix-on-failure.ts';
import type { FixReport } from '../../../../src/orchestrators/doctor/fix.ts';

const NO_DOCKER = new UserError('DOCKER_UNREACHABLE', 'cannot reach the Docker Engine on gpu-box (no socket)', 'mltoolbox doctor HOST --fix');

function fakeDoctor(report: Pick<FixReport, 'steps' | 'report'>) {
  const calls: unknown[][] = [];
  const doctor = {
    run: async () => report.report,
    fix: async (...args: unknown[]) => {
      calls.push(args);
      return { target: 'gpu-box', changed: report.steps.some((s) => s.outcome === 'done'), ...report };
    },
  } as unknown as Doctor;
  return { doctor: async () => doctor, calls };
}

const READY = { target: 'gpu-box', checks: [{ id: 'host.docker-daemon', title: 'Docker daemon', status: 'ok' as const, detail: 'Docker Engine 27.0', fix: null }] };
const STILL_DOWN = { target: 'gpu-box', checks: [{ id: 'host.docker-daemon', title: 'Docker daemon', status: 'fail' as const, detail: 'installed but not running', fix: 'x' }] };
const START = { id: 'start-docker', title: 'Start the Docker Engine (systemd)', command: 'sudo systemctl enable --now docker' };

describe('connect offering doctor\'s fixes', () => {
  it('without --yes and without a terminal, the error stands and doctor is not even asked', async () => {
    const { doctor, calls } = fakeDoctor({ steps: [], report: READY });
    const offer = { target: async () => 'gpu-box', fix: { yes: false, tty: false }, reporter: createRecordingReporter() };
    await assert.rejects(withHostFixes(doctor, offer, async () => { throw NO_DOCKER; }), (e) => e === NO_DOCKER);
    assert.equal(calls.length, 0);
  });

  it('an error doctor cannot fix (a lost ssh connection) is passed on untouched', async () => {
    const lost = new UserError('SSH_CONNECTION_LOST', 'lost', 'ssh HOST true');
    const { doctor, calls } = fakeDoctor({ steps: [], report: READY });
    const offer = { target: async () => 'gpu-box', fix: { yes: true, tty: false }, reporter: createRecordingReporter() };
    await assert.rejects(withHostFixes(doctor, offer, async () => { throw lost; }), (e) => e === lost);
    assert.equal(calls.length, 0);
  });

  it('--yes: doctor fixes the host (no GPU steps), then the work runs again and its result is returned', async () => {
    const { doctor, calls } = fakeDoctor({ steps: [{ ...START, outcome: 'done', exitCode: 0 }], report: READY });
    const reporter = createRecordingReporter();
    let attempts = 0;
    const result = await withHostFixes(doctor, { target: async () => 'gpu-box', fix: { yes: true, tty: false }, reporter }, async () => {
      attempts++;
      if (attempts === 1) throw NO_DOCKER;
      return 'connected';
    });
    assert.equal(result, 'connected');
    assert.equal(attempts, 2);
    assert.deepEqual(calls, [[{ target: 'gpu-box', gpu: false }, { yes: true, tty: false }]]);
    assert.ok(reporter.lines.some((l) => /fixed on gpu-box: start-docker; trying again/.test(l)));
  });

  it('a declined or failed step: the work is not run again, the original error stands, and the step is named', async () => {
    for (const outcome of ['declined', 'failed'] as const) {
      const { doctor } = fakeDoctor({ steps: [{ ...START, outcome }], report: STILL_DOWN });
      const reporter = createRecordingReporter();
      let attempts = 0;
      const confirm = async () => false;
      await assert.rejects(withHostFixes(doctor, { target: async () => 'gpu-box', fix: { yes: false, tty: true, confirm }, reporter }, async () => {
        attempts++;
        throw NO_DOCKER;
      }), (e) => e === NO_DOCKER);
      assert.equal(attempts, 1);
      assert.ok(reporter.lines.some((l) => l.includes(`connect stops here: the fix "Start the Docker Engine (systemd)" ${outcome === 'declined' ? 'was declined' : 'failed'}`)), outcome);
    }
  });
});
