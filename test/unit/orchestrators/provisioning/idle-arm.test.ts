import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeIdle, parseIdleReading, readIdle } from '../../../../src/orchestrators/provisioning/idle-arm.ts';
import { parseIdleTimeout } from '../../../../src/cli/commands/provision/provision.ts';

describe('idle auto-stop, the CLI side', () => {
  it('--idle-timeout takes minutes or 90s / 45m / 2h; too short or garbage is a usage error', () => {
    assert.equal(parseIdleTimeout('30'), 30);
    assert.equal(parseIdleTimeout('90s'), 1.5);
    assert.equal(parseIdleTimeout('2h'), 120);
    assert.equal(parseIdleTimeout('0'), 0);
    assert.throws(() => parseIdleTimeout('3s'), /shorter than 5 s/);
    assert.throws(() => parseIdleTimeout('soon'), (e: { code?: string }) => e.code === 'USAGE');
    assert.throws(() => parseIdleTimeout('-5'), /not a duration/);
  });

  it('reads the watcher report: running with seconds left, ended, none, or garbage', () => {
    const report = JSON.stringify({ step: 'idle', secondsLeft: 42, idleSeconds: 18, effectiveAction: 'terminate', reasons: [] });
    assert.deepEqual(parseIdleReading(0, `${report}\nrunning\n`), { watcher: 'running', step: 'idle', secondsLeft: 42, idleSeconds: 18, effectiveAction: 'terminate', reasons: [] });
    const done = parseIdleReading(0, `pyenv: command not found\n${JSON.stringify({ step: 'done', secondsLeft: 0, lastEvent: 'terminated' })}\nstopped`);
    assert.equal(done.watcher, 'stopped');
    assert.equal(done.secondsLeft, undefined, 'no countdown once acted');
    assert.equal(done.lastEvent, 'terminated');
    assert.deepEqual(parseIdleReading(3, ''), { watcher: 'not-armed' });
    assert.deepEqual(parseIdleReading(0, 'not json\nrunning'), { watcher: 'unknown' });
  });

  it('an unreachable host is unknown, not an error', async () => {
    assert.deepEqual(await readIdle(async () => { throw new Error('ssh: connect timed out'); }, 'x'), { watcher: 'unknown' });
  });

  it('the IDLE column says what happens when', () => {
    const base = { timeoutMinutes: 30, action: 'stop' };
    assert.equal(describeIdle({ ...base, timeoutMinutes: 0, watcher: 'unknown' }), 'off');
    assert.equal(describeIdle({ ...base, watcher: 'running', effectiveAction: 'notify', secondsLeft: 240, idleSeconds: 1560, reasons: [] }), 'notify in 4m (idle 26m)');
    assert.equal(describeIdle({ ...base, watcher: 'running', effectiveAction: 'terminate', reasons: ['1 SSH connection', 'GPU at 87%'] }), 'terminate after 30m idle (busy: 1 SSH connection, GPU at 87%)');
    assert.equal(describeIdle({ ...base, timeoutMinutes: 0.2, watcher: 'running', effectiveAction: 'terminate', secondsLeft: 5, idleSeconds: 7, reasons: [] }), 'terminate in 5s (idle 7s)');
    assert.match(describeIdle({ ...base, watcher: 'stopped', lastEvent: 'terminated' }), /watcher ended \(terminated\)/);
    assert.match(describeIdle({ ...base, watcher: 'not-armed' }), /not armed/);
    assert.match(describeIdle({ ...base, watcher: 'unknown' }), /host not asked/);
  });
});

describe('arming the idle watcher', () => {
  it('a ledger name that is not an instance name (it becomes a file name on the host) is never sent', async () => {
    const { armIdle } = await import('../../../../src/orchestrators/provisioning/idle-arm.ts');
    const sent: string[][] = [];
    const host = { exec: async (argv: string[]) => { sent.push(argv); return { exitCode: 0, stdout: '', stderr: '' }; } } as never;
    const record = { name: '../../.ssh/authorized_keys', backend: 'lambda', providerId: 'i-1', idleTimeoutMinutes: 30, idleAction: 'terminate', sshPort: 22 } as never;
    const result = await armIdle(host, { record, agentPath: '/opt/mlt', baseUrl: 'https://x', canStop: true, apiKey: 'k' });
    assert.equal(result.armed, false);
    assert.match(result.note!, /not an instance name/);
    assert.deepEqual(sent, []);
    const fine = await armIdle(host, { record: { ...(record as object), name: 'train-h100' } as never, agentPath: '/opt/mlt', baseUrl: 'https://x', canStop: true, apiKey: 'k' });
    assert.equal(fine.armed, true);
    assert.equal(sent.length, 1);
  });
});

describe('the idle scripts on the host', () => {
  it('take only an instance name: disarming "../x" removes nothing outside the idle folder (real sh)', async () => {
    const { IDLE_DISARM_SCRIPT, IDLE_READ_SCRIPT } = await import('../../../../src/orchestrators/provisioning/idle-arm.ts');
    const { mkdtempSync, mkdirSync, writeFileSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runProcess } = await import('../../../../src/infrastructure/process.ts');
    const home = mkdtempSync(join(tmpdir(), 'mlt-idle-sh-'));
    mkdirSync(join(home, 'mltoolbox', 'idle'), { recursive: true });
    writeFileSync(join(home, 'mltoolbox', 'victim.json'), '{}');
    writeFileSync(join(home, 'mltoolbox', 'idle', 'gpu-a.json'), '{}');
    const env = { PATH: process.env.PATH, XDG_CONFIG_HOME: home };
    const bad = await runProcess('sh', ['-c', IDLE_DISARM_SCRIPT, 'mlt-idle', '../victim'], { env });
    assert.equal(bad.code, 2);
    assert.equal(existsSync(join(home, 'mltoolbox', 'victim.json')), true);
    assert.equal((await runProcess('sh', ['-c', IDLE_READ_SCRIPT, 'mlt-idle', '../victim'], { env })).code, 2);
    assert.equal((await runProcess('sh', ['-c', IDLE_DISARM_SCRIPT, 'mlt-idle', 'gpu-a'], { env })).code, 0);
    assert.equal(existsSync(join(home, 'mltoolbox', 'idle', 'gpu-a.json')), false);
  });
});
