import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { effectiveIdleAction as effectiveAction } from '../../../src/core/idle-action.ts';
import { afterNotify, defaultWarnSeconds, initialIdleState, observe, type IdleSample, type IdleSettings } from '../../../src/agent/idle/decide.ts';
import { classifyMlt, createHostReaders, parseProcNetTcp, parseUtmp } from '../../../src/agent/idle/probe.ts';
import { watchIdle, type IdleFile } from '../../../src/agent/idle/watch.ts';

const FIXTURES = new URL('../../fixtures/nvidia-smi/', import.meta.url).pathname;
const settings: IdleSettings = { timeoutSeconds: 60, action: 'terminate', warnSeconds: 20, gpuThresholdPercent: 10, minConnectionSeconds: 10 };
const quiet = (at: number, extra: Partial<IdleSample> = {}): IdleSample => ({ at, connections: [], sessions: 0, jobs: 0, gpuPercent: 0, ...extra });

/** Runs samples through observe, one per `stepMs`, and returns each step. */
function run(samples: IdleSample[], s: IdleSettings = settings) {
  let state = initialIdleState(0);
  return samples.map((sample) => {
    const seen = observe(state, sample, s);
    state = seen.state;
    return seen;
  });
}

describe('idle decision', () => {
  it('a quiet host is idle, warned once before the end of the window, then acted on', () => {
    const steps = run([quiet(10_000), quiet(39_000), quiet(41_000), quiet(50_000), quiet(60_000)]);
    assert.deepEqual(steps.map((s) => s.step), ['idle', 'idle', 'warn', 'idle', 'act']);
    assert.deepEqual(steps.map((s) => s.secondsLeft), [50, 21, 19, 10, 0]);
  });

  it('a connection shorter than 10 s is ignored; one that lasts restarts the window', () => {
    const short = run([quiet(0), quiet(5_000, { connections: ['a'] }), quiet(9_000, { connections: ['a'] }), quiet(60_000)]);
    assert.deepEqual(short.map((s) => s.step), ['idle', 'idle', 'idle', 'act'], 'a 4 s connection does not count');
    const lasting = run([quiet(0, { connections: ['a'] }), quiet(12_000, { connections: ['a'] }), quiet(60_000), quiet(72_000)]);
    assert.deepEqual(lasting.map((s) => s.step), ['idle', 'active', 'warn', 'act']);
    assert.deepEqual(lasting[1]!.reasons, ['1 SSH connection']);
    assert.equal(lasting[2]!.secondsLeft, 12, 'the window restarted when the connection was last seen');
  });

  it('a session, an mlt run job or a busy GPU each keep the host; a GPU under the threshold does not', () => {
    assert.deepEqual(run([quiet(61_000, { sessions: 1 })])[0]!.reasons, ['1 interactive session']);
    assert.deepEqual(run([quiet(61_000, { jobs: 2 })])[0]!.reasons, ['2 mlt run jobs']);
    assert.deepEqual(run([quiet(61_000, { gpuPercent: 10 })])[0]!.reasons, ['GPU at 10%']);
    assert.equal(run([quiet(61_000, { gpuPercent: 9 })])[0]!.step, 'act');
  });

  it('activity after the warning cancels it; the next quiet spell warns again', () => {
    const steps = run([quiet(41_000), quiet(45_000, { sessions: 1 }), quiet(86_000), quiet(105_000)]);
    assert.deepEqual(steps.map((s) => s.step), ['warn', 'active', 'warn', 'act']);
  });

  it('notify starts a new window, so it is said once per window', () => {
    let state = observe(initialIdleState(0), quiet(60_000), settings).state;
    state = afterNotify(state, 60_000);
    const next = observe(state, quiet(70_000), settings);
    assert.equal(next.step, 'idle');
    assert.equal(next.secondsLeft, 50);
  });

  it('stop needs a provider that can stop and a key on the host; otherwise it notifies and says why', () => {
    assert.deepEqual(effectiveAction('terminate', false, true), { action: 'terminate' });
    assert.deepEqual(effectiveAction('stop', true, true), { action: 'stop' });
    assert.match(effectiveAction('stop', false, true).why!, /cannot stop.*--idle-action terminate/);
    assert.match(effectiveAction('terminate', false, false).why!, /--idle-key-on-host/);
    assert.equal(effectiveAction('notify', true, true).action, 'notify');
    assert.equal(defaultWarnSeconds(1800), 300);
    assert.equal(defaultWarnSeconds(9), 3);
  });
});

describe('idle probes', () => {
  it('reads established connections to the sshd ports from /proc/net/tcp', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
      '   2: 0100007F:1F90 0100007F:D432 01 00000000:00000000 00:00000000 00000000     0        0 3 1',
      '   3: 0100007F:D431 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 4 1',
    ].join('\n');
    assert.deepEqual(parseProcNetTcp(text, new Set([22])), ['0100007F:0016-0100007F:D431'], 'listening and outgoing sockets are not sessions');
  });

  it('reads logged-in users from utmp records', () => {
    const record = (type: number, pid: number, line: string, user: string) => {
      const b = Buffer.alloc(384);
      b.writeInt32LE(type, 0);
      b.writeInt32LE(pid, 4);
      b.write(line, 8);
      b.write(user, 44);
      return b;
    };
    assert.deepEqual(parseUtmp(Buffer.concat([record(2, 0, '~', 'reboot'), record(7, 1234, 'pts/3', 'ubuntu')])), [{ pid: 1234, line: 'pts/3', user: 'ubuntu' }]);
  });

  it('tells mlt jobs from sessions by their command line', () => {
    assert.equal(classifyMlt(['/home/u/.local/bin/mlt', 'run', '--', 'python', 'train.py']), 'job');
    assert.equal(classifyMlt(['/home/u/.local/bin/mlt', '--project', 'run', 'shell']), 'session', '--project takes a value');
    assert.equal(classifyMlt(['mlt', 'ssh-server']), 'session');
    assert.equal(classifyMlt(['node', '/x/dist/agent/mlt.js', 'lsp-proxy', '--', 'pyright']), 'session');
    assert.equal(classifyMlt(['mlt', 'idle', 'watch', '--config', 'f']), undefined, 'the watcher itself is not activity');
    assert.equal(classifyMlt(['python', 'run']), undefined);
  });

  it('GPU utilization comes from nvidia-smi through the shared parser; no nvidia-smi counts as 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-idle-'));
    const fake = async (fixture: string, code = 0) => {
      const path = join(dir, `smi-${fixture}`);
      await writeFile(path, `#!/bin/sh\ncat '${join(FIXTURES, fixture)}'\nexit ${code}\n`);
      await chmod(path, 0o755);
      return createHostReaders({ MLT_NVIDIA_SMI: path }).gpuPercent();
    };
    assert.equal(await fake('h100x8-nounits.csv'), 95);
    assert.equal(await fake('a100-mig.csv'), 0, 'MIG reports [N/A]: absent, counted as 0');
    assert.equal(await fake('no-driver.txt', 9), 0);
    assert.equal(await createHostReaders({ MLT_NVIDIA_SMI: join(dir, 'missing') }).gpuPercent(), 0);
  });
});

describe('idle watcher', () => {
  const file = (action: IdleFile['action'], canStop = false): IdleFile => ({
    name: 'gpu-a', backend: 'lambda', instanceId: 'i-1', baseUrl: 'http://127.0.0.1:1', canStop, timeoutSeconds: 3, action, sshPorts: [22], pollSeconds: 1,
  });
  const setup = async (idle: IdleFile, key?: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-idle-'));
    const config = join(dir, 'gpu-a.json');
    await writeFile(config, JSON.stringify(idle));
    if (key !== undefined) await writeFile(join(dir, 'gpu-a.key'), key, { mode: 0o600 });
    let clock = 0;
    const acted: string[] = [];
    const deps = {
      readers: { connections: async () => [], sessions: async () => ({ count: 0, jobs: 0, ttys: [] }), gpuPercent: async () => 0 },
      act: async (_f: IdleFile, action: string, apiKey: string) => void acted.push(`${action}:${apiKey}`),
      now: () => clock,
      sleep: async (ms: number) => void (clock += ms),
      maxTicks: 10,
    };
    return { dir, config, acted, deps };
  };

  it('terminates with the key from the 0600 file once the window passes, warning first', async () => {
    const { dir, config, acted, deps } = await setup(file('terminate'), 'k-123\n');
    const report = await watchIdle(config, {}, deps);
    assert.deepEqual(acted, ['terminate:k-123']);
    assert.equal(report.step, 'done');
    const log = await readFile(join(dir, 'gpu-a.log'), 'utf8');
    assert.match(log, /warning: gpu-a has been idle .* will be terminated/);
    assert.ok(!log.includes('k-123'), 'the key is never logged');
    assert.equal(JSON.parse(await readFile(join(dir, 'gpu-a.state.json'), 'utf8')).lastEvent, 'terminated');
  });

  it('without a key, or with stop on a provider that cannot, it only notifies — once per window', async () => {
    const { dir, config, acted, deps } = await setup(file('stop'), 'k');
    const report = await watchIdle(config, {}, deps);
    assert.deepEqual(acted, []);
    assert.equal(report.effectiveAction, 'notify');
    const log = await readFile(join(dir, 'gpu-a.log'), 'utf8');
    assert.equal(log.match(/notify: /g)?.length, 3, '10 ticks of 1 s with a 3 s window');
    const none = await setup(file('terminate'));
    assert.equal((await watchIdle(none.config, {}, none.deps)).why?.includes('no API key'), true);
  });

  it('a key file others can read is refused', async () => {
    const { dir, config, acted, deps } = await setup(file('terminate'), 'k');
    await chmod(join(dir, 'gpu-a.key'), 0o644);
    const report = await watchIdle(config, {}, deps);
    assert.deepEqual(acted, []);
    assert.match(report.why!, /readable by others/);
  });
});

describe('idle watcher: failures', () => {
  const idleFile: IdleFile = { name: 'gpu-a', backend: 'lambda', instanceId: 'i-1', baseUrl: 'http://127.0.0.1:1', canStop: false, timeoutSeconds: 3, action: 'terminate', sshPorts: [22], pollSeconds: 1 };
  const setup = async (ticks: number, act: () => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-idle-fail-'));
    const config = join(dir, 'gpu-a.json');
    await writeFile(config, JSON.stringify(idleFile));
    await writeFile(join(dir, 'gpu-a.key'), 'k', { mode: 0o600 });
    let clock = 0;
    const sleeps: number[] = [];
    const deps = {
      readers: { connections: async () => [], sessions: async () => ({ count: 0, jobs: 0, ttys: [] }), gpuPercent: async () => 0 },
      act,
      now: () => clock,
      sleep: async (ms: number) => { sleeps.push(ms); clock += ms; },
      maxTicks: ticks,
    };
    return { dir, config, deps, sleeps };
  };

  it('a provider call that keeps failing is tried again less and less often (5 s, 10 s, 20 s … at most 10 min), not every 5 s forever', async () => {
    let calls = 0;
    const { dir, config, deps, sleeps } = await setup(20, async () => { calls++; throw new Error('401 invalid key'); });
    const report = await watchIdle(config, {}, deps);
    assert.equal(report.step, 'failed');
    const retries = sleeps.filter((ms) => ms >= 5000);
    assert.deepEqual(retries.slice(0, 4), [5000, 10_000, 20_000, 40_000]);
    assert.ok(Math.max(...sleeps) <= 600_000);
    assert.equal(calls, retries.length);
    const log = await readFile(join(dir, 'gpu-a.log'), 'utf8');
    assert.match(log, /terminate failed: 401 invalid key \(try 2; next in 10 s\)/);
  });

  it('a report that cannot be written (full disk, a folder in the way) does not stop the watcher: it still acts', async () => {
    const acted: string[] = [];
    const { dir, config, deps } = await setup(10, async () => void acted.push('terminate'));
    await mkdir(join(dir, 'gpu-a.state.json.tmp'));
    const report = await watchIdle(config, {}, deps);
    assert.deepEqual(acted, ['terminate']);
    assert.equal(report.step, 'done');
    assert.match(await readFile(join(dir, 'gpu-a.log'), 'utf8'), /cannot write .*gpu-a\.state\.json/);
  });
});

describe('idle watcher: a damaged idle file', () => {
  it('keeps the settings it read before and still acts (a crash here would leave the instance billing)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-idle-damaged-'));
    const config = join(dir, 'gpu-a.json');
    const idleFile: IdleFile = { name: 'gpu-a', backend: 'lambda', instanceId: 'i-1', baseUrl: 'http://127.0.0.1:1', canStop: false, timeoutSeconds: 3, action: 'terminate', sshPorts: [22], pollSeconds: 1 };
    await writeFile(config, JSON.stringify(idleFile));
    await writeFile(join(dir, 'gpu-a.key'), 'k', { mode: 0o600 });
    let clock = 0;
    const acted: string[] = [];
    const report = await watchIdle(config, {}, {
      readers: { connections: async () => [], sessions: async () => ({ count: 0, jobs: 0, ttys: [] }), gpuPercent: async () => 0 },
      act: async (_f, action) => void acted.push(action),
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
        await writeFile(config, '{"name": "gpu-a", "trunc');
      },
      maxTicks: 10,
    });
    assert.deepEqual(acted, ['terminate']);
    assert.equal(report.step, 'done');
    assert.match(await readFile(join(dir, 'gpu-a.log'), 'utf8'), /keeping the settings read before/);
  });
});
