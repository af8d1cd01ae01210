import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import type { ProcessRunner } from '../../../../src/infrastructure/process.ts';
import { createDoctor, summarize, type DoctorSettings, type SavedRemote } from '../../../../src/orchestrators/doctor/doctor.ts';
import type { SshTarget } from '../../../../src/services/ssh/target.ts';
import type { ExecResult, ScriptOptions, SshService } from '../../../../src/services/ssh/types.ts';

/** The probe's output for a healthy host without GPUs, as the marker lines frame it. */
function healthyOutput(script: string): string {
  const marker = /^M='([^']+)'/m.exec(script)![1]!;
  const section = (name: string, output: string, code = 0) => `\n${marker} begin ${name}\n${output}\n${marker} end ${name} ${code}\n`;
  return 'bashrc noise\n'
    + section('os', 'Linux 6.1.0 x86_64\nDebian GNU/Linux 12 (bookworm)')
    + section('user', 'alice\nalice sudo')
    + section('home', '/home/alice')
    + section('docker_cli', 'Docker version 24.0.7, build afdd53b')
    + section('docker_daemon', '24.0.7\n{"runc":{"path":"runc"}}')
    + section('rsync', 'rsync  version 3.2.7  protocol version 31')
    + section('disk', 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 1 52428800 1% /')
    + (script.includes('nvidia-smi') ? section('nvidia_smi', 'nvidia-smi: not found', 127) + section('nvidia_toolkit', '') : '')
    + `\n${marker} done\n`;
}

function fakeSsh(overrides: Partial<SshService> = {}) {
  const log: string[] = [];
  const scripts: string[] = [];
  const service: SshService = {
    resolve: async (t) => ({ hostname: t.host === 'gpu' ? '10.0.0.5' : t.host, port: t.port ?? 22, user: t.user ?? 'alice', strictHostKeyChecking: 'ask' }),
    connect: async (t) => void log.push(`connect ${JSON.stringify(t)}`),
    check: async () => false,
    closeMaster: async () => void log.push('close'),
    waitForHost: async () => {},
    exec: async () => ({ code: 0, stdout: '', stderr: '' }),
    execScript: async (_t: SshTarget, script: string, options?: ScriptOptions): Promise<ExecResult> => {
      scripts.push(script);
      log.push(`script timeout=${options?.timeoutMs}`);
      return { code: 0, stdout: healthyOutput(script), stderr: 'pyenv: command not found\n' };
    },
    forward: async () => {
      throw new Error('unused');
    },
    sshOptions: () => [],
    sshArgs: () => [],
    rsyncShell: () => 'ssh',
    rsyncRemote: (_t, p) => p,
    fastChannel: () => undefined,
    saveFastChannel: () => {},
    fastChannelAnswers: async () => false,
    fastExec: async () => undefined,
    fastRsyncShell: () => 'bash',
    fastTreeDigest: async () => undefined,
    fastContainerExec: async () => 'unavailable' as const,
    ...overrides,
  };
  return { service, log, scripts };
}

const runner: ProcessRunner = async (command) => {
  if (command === 'ssh') return { code: 0, signal: null, stdout: '', stderr: 'OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13\n', timedOut: false };
  if (command === 'rsync') return { code: 0, signal: null, stdout: 'rsync  version 3.2.7  protocol version 31\n', stderr: '', timedOut: false };
  throw new Error(`unexpected ${command}`);
};

function doctor(options: { settings?: Partial<DoctorSettings>; ssh?: SshService; saved?: Record<string, SavedRemote>; localRunner?: ProcessRunner } = {}) {
  const reporter = createRecordingReporter();
  const ssh = options.ssh ?? fakeSsh().service;
  const d = createDoctor({
    ssh: async () => ssh,
    reporter,
    runner: options.localRunner ?? runner,
    loadSettings: async () => ({ remote: {}, gpus: 'optional', ...options.settings }),
    lookupRemote: async (alias) => options.saved?.[alias],
  });
  return { doctor: d, reporter };
}

describe('doctor orchestrator', () => {
  it('checks a host in one script run: client, host and GPU checks', async () => {
    const ssh = fakeSsh();
    const report = await doctor({ ssh: ssh.service }).doctor.run({ target: 'gpu', gpu: true });
    assert.equal(report.target, 'gpu');
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [
      ['client.ssh', 'ok'], ['client.rsync', 'ok'], ['host.connect', 'ok'], ['host.os', 'ok'], ['host.docker-cli', 'ok'],
      ['host.docker-daemon', 'ok'], ['host.rsync', 'ok'], ['host.disk', 'ok'], ['gpu.driver', 'warn'], ['gpu.container-runtime', 'warn'],
    ]);
    assert.equal(ssh.scripts.length, 1);
    assert.match(report.checks[2]!.detail, /^alice@10\.0\.0\.5:22 \(connected in \d+ ms\)$/);
    assert.deepEqual(summarize(report), { failed: 0, warned: 2, ok: true });
  });

  it('--no-gpu and environment.gpus: none skip GPU checks (and leave them out of the probe)', async () => {
    const ssh = fakeSsh();
    const noGpu = await doctor({ ssh: ssh.service }).doctor.run({ target: 'gpu', gpu: false });
    assert.deepEqual(noGpu.checks.filter((c) => c.status === 'skip').map((c) => c.detail), ['skipped (--no-gpu)', 'skipped (--no-gpu)']);
    assert.ok(!ssh.scripts[0]!.includes('nvidia-smi'));
    const none = await doctor({ settings: { gpus: 'none' } }).doctor.run({ target: 'gpu', gpu: true });
    assert.equal(none.checks.find((c) => c.id === 'gpu.driver')!.detail, 'skipped (environment.gpus: none)');
  });

  it('environment.gpus: required turns a missing NVIDIA stack into failures', async () => {
    const report = await doctor({ settings: { gpus: 'required' } }).doctor.run({ target: 'gpu', gpu: true });
    assert.equal(report.checks.find((c) => c.id === 'gpu.container-runtime')!.status, 'fail');
    assert.equal(summarize(report).ok, false);
  });

  it('default target: remote.host with remote.user/port/identity_file/connect_timeout', async () => {
    const ssh = fakeSsh();
    const settings = { remote: { host: 'gpu', user: 'bob', port: 2222, identity_file: '/k', connect_timeout: 3 } };
    const report = await doctor({ ssh: ssh.service, settings }).doctor.run({ gpu: true });
    assert.equal(report.target, 'bob@gpu:2222');
    assert.deepEqual(JSON.parse(ssh.log[0]!.slice('connect '.length)), { host: 'gpu', user: 'bob', port: 2222, identityFile: '/k', connectTimeout: 3 });
  });

  it('remote.user/port do not leak onto another host named on the command line', async () => {
    const ssh = fakeSsh();
    await doctor({ ssh: ssh.service, settings: { remote: { host: 'gpu', user: 'bob', port: 2222 } } }).doctor.run({ target: 'other', gpu: true });
    assert.deepEqual(JSON.parse(ssh.log[0]!.slice('connect '.length)), { host: 'other' });
  });

  it('a saved remote alias resolves to its host, user, port and key', async () => {
    const ssh = fakeSsh();
    const saved = { box: { host: '10.1.1.1', user: 'carol', port: 2200, identityFile: '/id' } };
    const report = await doctor({ ssh: ssh.service, saved }).doctor.run({ target: 'box', gpu: false });
    assert.equal(report.target, 'carol@10.1.1.1:2200');
  });

  it('no TARGET and no remote.host: checks this machine without ssh, and says so', async () => {
    let sshUsed = false;
    const localRunner: ProcessRunner = async (command, _args, options) => {
      assert.equal(command, 'sh');
      return { code: 0, signal: null, stdout: healthyOutput(String(options!.input)), stderr: '', timedOut: false };
    };
    const { doctor: d, reporter } = doctor({
      localRunner,
      ssh: fakeSsh({ connect: async () => void (sshUsed = true) }).service,
    });
    const report = await d.run({ gpu: true });
    assert.equal(report.target, 'local');
    assert.ok(!sshUsed);
    assert.ok(!report.checks.some((c) => c.id.startsWith('client.')));
    assert.equal(report.checks[0]!.detail, 'this machine (no ssh)');
    assert.ok(reporter.lines.some((l) => /no remote\.host configured/.test(l)));
  });

  it('an unreachable host is an error (exit 4), not a report', async () => {
    const unreachable = new UserError('SSH_UNREACHABLE', 'cannot reach gpu: connection refused (port 22)', 'check ...');
    const ssh = fakeSsh({ connect: async () => { throw unreachable; } });
    await assert.rejects(doctor({ ssh: ssh.service }).doctor.run({ target: 'gpu', gpu: true }), unreachable);
  });

  it('a probe that printed nothing is REMOTE_COMMAND_FAILED', async () => {
    const ssh = fakeSsh({ execScript: async () => ({ code: 1, stdout: 'This account is currently not available.\n', stderr: '' }) });
    await assert.rejects(doctor({ ssh: ssh.service }).doctor.run({ target: 'gpu', gpu: true }), (e: UserError) => e.code === 'REMOTE_COMMAND_FAILED');
  });

  it('closes the shared connection after a docker permission failure (new group needs a new login)', async () => {
    const base = fakeSsh();
    const ssh = fakeSsh({
      execScript: async (t, script, o) => {
        const r = await base.service.execScript(t, script, o);
        return { ...r, stdout: r.stdout.replace('24.0.7\n{"runc":{"path":"runc"}}', 'permission denied while trying to connect to the Docker daemon socket').replace(/ end docker_daemon 0/, ' end docker_daemon 1') };
      },
    });
    const report = await doctor({ ssh: ssh.service }).doctor.run({ target: 'gpu', gpu: false });
    const check = report.checks.find((c) => c.id === 'host.docker-daemon')!;
    assert.equal(check.status, 'fail');
    assert.match(check.fix!, /usermod -aG docker alice/);
    assert.ok(ssh.log.includes('close'));
  });

  it('invalid TARGET text is REMOTE_TARGET_INVALID, as for every command', async () => {
    await assert.rejects(doctor().doctor.run({ target: 'a b', gpu: true }), (e: UserError) => e.code === 'REMOTE_TARGET_INVALID');
  });
});
