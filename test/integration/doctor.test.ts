import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox, freePort, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';
import { startSshdWithout } from '../harness/sshd.ts';

interface Check {
  id: string;
  title: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix: string | null;
}
interface Envelope {
  ok: boolean;
  command: string;
  result: { target: string; checks: Check[] } | null;
  error: { code: string; message: string; hint: string } | null;
}

const GPU_CHECKS = ['gpu.driver', 'gpu.container-runtime'];

/** `mltoolbox doctor` (the built binary) against the harness host: a Linux box with Docker and no NVIDIA. */
describe('mltoolbox doctor', async () => {
  const harness = await useHarness();
  // Short-lived masters: the binary leaves its shared connection behind on purpose (ControlPersist).
  const sandboxFor = async (): Promise<Sandbox> => createSandbox({ harness, env: { MLTOOLBOX_SSH_PERSIST: '5s' } });
  const doctorJson = async (args: string[], sandbox?: Sandbox) => {
    const box = sandbox ?? (await sandboxFor());
    const r = await runMltoolbox(['doctor', ...args, '--json'], { env: box.env, cwd: box.projectDir });
    return { ...r, envelope: JSON.parse(r.stdout) as Envelope };
  };

  it('all checks pass on the harness host except the GPU ones, which explain how to install NVIDIA', async () => {
    const sandbox = await sandboxFor();
    const r = await runMltoolbox(['doctor', harness.ssh.alias], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^mlt-test-host$/m);
    assert.match(r.stdout, /✔ SSH connection\s+root@127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /✔ Docker daemon\s+Docker Engine \d/);
    assert.match(r.stdout, /! NVIDIA container runtime\s+no NVIDIA runtime/);
    assert.match(r.stdout, /fix: install the NVIDIA Container Toolkit/);
    assert.match(r.stdout, /\d+ ok, 2 warnings, 0 failed/);
  });

  it('--json: {target, checks:[{id,title,status,detail,fix}]}', async () => {
    const { code, envelope } = await doctorJson([harness.ssh.alias]);
    assert.equal(code, 0);
    assert.equal(envelope.ok, true);
    assert.equal(envelope.command, 'doctor');
    assert.equal(envelope.error, null);
    const report = envelope.result!;
    assert.equal(report.target, 'mlt-test-host');
    assert.deepEqual(report.checks.map((c) => c.id), [
      'client.ssh', 'client.rsync', 'host.connect', 'host.os', 'host.docker-cli', 'host.docker-daemon', 'host.rsync', 'host.disk', ...GPU_CHECKS,
    ]);
    for (const check of report.checks) {
      assert.deepEqual(Object.keys(check).sort(), ['detail', 'fix', 'id', 'status', 'title']);
      if (GPU_CHECKS.includes(check.id)) {
        assert.equal(check.status, 'warn', check.id);
        assert.match(check.detail, /no NVIDIA/);
        assert.match(check.fix!, /install/i);
      } else if (check.id === 'host.disk') {
        assert.notEqual(check.status, 'fail', check.detail); // the CI disk may be small; that is a warning
      } else {
        assert.equal(check.status, 'ok', `${check.id}: ${check.detail}`);
        assert.equal(check.fix, null);
      }
    }
  });

  it('--no-gpu skips the GPU checks', async () => {
    const { code, envelope } = await doctorJson([harness.ssh.alias, '--no-gpu']);
    assert.equal(code, 0);
    const gpu = envelope.result!.checks.filter((c) => GPU_CHECKS.includes(c.id));
    assert.deepEqual(gpu.map((c) => [c.status, c.detail]), [['skip', 'skipped (--no-gpu)'], ['skip', 'skipped (--no-gpu)']]);
  });

  it('an unreachable port fails in under 5 s with exit 4, SSH_UNREACHABLE and the command to try', async () => {
    const port = await freePort();
    const sandbox = await sandboxFor();
    const started = Date.now();
    const r = await runMltoolbox(['doctor', `root@127.0.0.1:${port}`], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /connection refused \(port \d+\) \[SSH_UNREACHABLE\]/);
    assert.match(r.stderr, new RegExp(`hint: .*ssh .*-p ${port} root@127\\.0\\.0\\.1 true`));
    const { code, envelope } = await doctorJson([`root@127.0.0.1:${port}`], sandbox);
    assert.equal(code, 4);
    assert.equal(envelope.error!.code, 'SSH_UNREACHABLE');
    assert.match(envelope.error!.hint, /ssh /);
  });

  it('doctor and status log in as the same user: remote.user belongs to remote.host only', async () => {
    const sandbox = await sandboxFor();
    const config = join(sandbox.projectDir, 'mltoolbox.yaml');
    const both = async () => Promise.all([
      doctorJson([harness.ssh.alias, '--no-gpu'], sandbox),
      runMltoolbox(['status', harness.ssh.alias, '--json'], { env: sandbox.env, cwd: sandbox.projectDir }),
    ]);
    // Another host is configured: its user must not be used for the host named on the command line.
    writeFileSync(config, 'version: 1\nremote:\n  host: some-other-box\n  user: nobody-here\n');
    const [doctorOther, statusOther] = await both();
    assert.equal(doctorOther.code, 0, doctorOther.stderr);
    assert.equal(statusOther.code, 0, statusOther.stderr);
    assert.equal(JSON.parse(statusOther.stdout).result.target, harness.ssh.alias);
    // The configured host itself: remote.user applies, to both commands alike (and that user does not exist).
    writeFileSync(config, `version: 1\nremote:\n  host: ${harness.ssh.alias}\n  user: nobody-here\n`);
    const [doctorConfigured, statusConfigured] = await both();
    const codes = [doctorConfigured, statusConfigured].map((r) => (JSON.parse(r.stdout) as Envelope).error?.code ?? 'ok');
    assert.deepEqual(codes, ['SSH_AUTH_FAILED', 'SSH_AUTH_FAILED'], doctorConfigured.stdout + statusConfigured.stdout);
  });

  it('TARGET defaults to remote.host from mltoolbox.yaml', async () => {
    const sandbox = await sandboxFor();
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), `version: 1\nremote:\n  host: ${harness.ssh.alias}\n`);
    const { code, envelope } = await doctorJson(['--no-gpu'], sandbox);
    assert.equal(code, 0, JSON.stringify(envelope));
    assert.equal(envelope.result!.target, 'mlt-test-host');
  });

  it('environment.gpus: required makes the missing NVIDIA runtime a failure: exit 5, CHECKS_FAILED', async () => {
    const sandbox = await sandboxFor();
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'version: 1\nenvironment:\n  gpus: required\n');
    const { code, envelope } = await doctorJson([harness.ssh.alias], sandbox);
    assert.equal(code, 5);
    assert.equal(envelope.ok, false);
    assert.equal(envelope.error!.code, 'CHECKS_FAILED');
    assert.match(envelope.error!.message, /gpu\.driver, gpu\.container-runtime/);
    assert.deepEqual(envelope.result!.checks.filter((c) => c.status === 'fail').map((c) => c.id), GPU_CHECKS);
  });

  it('`local` checks this machine without ssh', async () => {
    const sandbox = await sandboxFor();
    const { code, envelope } = await doctorJson(['local', '--no-gpu'], sandbox);
    assert.equal(code, 0, JSON.stringify(envelope));
    assert.equal(envelope.result!.target, 'local');
    const checks = Object.fromEntries(envelope.result!.checks.map((c) => [c.id, c]));
    assert.equal(checks['host.connect']!.detail, 'this machine (no ssh)');
    assert.equal(checks['client.ssh'], undefined);
    assert.equal(checks['host.docker-daemon']!.status, 'ok', checks['host.docker-daemon']!.detail);
  });

  it('a malformed TARGET is a usage error (exit 2)', async () => {
    const sandbox = await sandboxFor();
    const r = await runMltoolbox(['doctor', 'host:99999'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a port number/);
  });

  it('a host without Docker, --fix --docker-repo: Docker\'s apt repository for the host\'s release is the step shown; without a terminal nothing runs', async () => {
    const sshd = await startSshdWithout(await mkdtemp(join(tmpdir(), 'mlt-no-docker-')), /^docker/);
    try {
      const sandbox = await createSandbox({ harness, env: { MLTOOLBOX_SSH_PERSIST: '5s', MLTOOLBOX_SSH_CONFIG: sshd.endpoint.sshConfigFile, MLTOOLBOX_KNOWN_HOSTS: sshd.endpoint.knownHostsFile } });
      const release = await readFile('/etc/os-release', 'utf8');
      const field = (name: string) => new RegExp(`^${name}="?([^"\n]*)"?$`, 'm').exec(release)?.[1] ?? '';
      const r = await runMltoolbox(['doctor', sshd.endpoint.alias, '--fix', '--docker-repo', '--no-gpu', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
      assert.equal(r.code, 5, r.stderr);
      const { result } = JSON.parse(r.stdout) as { result: { steps: { id: string; command?: string; outcome: string }[]; changed: boolean } };
      assert.deepEqual(result.steps.map((s) => [s.id, s.outcome]), [['install-docker', 'not-asked']]);
      assert.equal(result.changed, false);
      const repo = `https://download.docker.com/linux/${field('ID')}`;
      assert.match(result.steps[0]!.command!, new RegExp(`^apt-get update -qq && .*curl -fsSL ${repo.replace(/[./]/g, '\\$&')}/gpg .*\\] ${repo.replace(/[./]/g, '\\$&')} ${field('VERSION_CODENAME')} stable" > /etc/apt/sources\\.list\\.d/docker\\.list && .*apt-get install -y -qq docker-ce `));
      assert.equal(existsSync('/etc/apt/sources.list.d/docker.list'), false, 'nothing ran');
      // Without --fix the flag means nothing: a usage error.
      const alone = await runMltoolbox(['doctor', sshd.endpoint.alias, '--docker-repo'], { env: sandbox.env, cwd: sandbox.projectDir });
      assert.equal(alone.code, 2, alone.stderr);
      assert.match(alone.stderr, /--docker-repo goes with --fix/);
    } finally {
      await sshd.stop();
    }
  });
});
