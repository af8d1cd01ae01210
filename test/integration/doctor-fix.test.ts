import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSandbox, ensureDebRepository, run, runMltoolbox, runOk, useDebRepositoryScript, useHarness, waitFor, type Sandbox } from '../harness/index.ts';

/**
 * doctor --fix, and connect offering it, against a fresh Debian host: a
 * container of the offline Debian image with only sshd and sudo (built with
 * `mltoolbox image bootstrap`, cached by content), reached over ssh on
 * 127.0.0.1 as a user with sudo. Every step's command and result is
 * asserted, and a second run does not repeat what the first did. This
 * machine cannot give a container the privileges a Docker Engine needs (no
 * --privileged here), so the engine the host gets installs but cannot start:
 * the test asserts exactly that, and the steps after it (docker group,
 * NVIDIA) are covered by the plan's unit tests.
 *
 * The host installs from a local apt repository of the .deb files it needs
 * (downloaded once per machine from the Debian mirror, kept by content:
 * harness/deb-repo.ts) — the same apt-get commands, without minutes of
 * downloads on every run. MLT_SLOW_TESTS=1 installs from the mirror instead.
 */
const BUILD_TIMEOUT_MS = 20 * 60_000;
const ALIAS = 'fresh-debian';
const FROM_MIRROR = process.env.MLT_SLOW_TESTS === '1';
const REPO_MOUNT = '/srv/mlt-debs';
const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));

describe('doctor --fix, and connect offering it, on a fresh Debian host over ssh', async () => {
  const harness = await useHarness();
  const name = `mlt-fix-${randomBytes(4).toString('hex')}`;
  let sandbox: Sandbox;
  const mlt = (args: string[]) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, timeoutMs: BUILD_TIMEOUT_MS });

  before(async () => {
    sandbox = await createSandbox({ harness });
    const image = await mlt(['image', 'bootstrap', '--packages', 'openssh-server,sudo', '--json']);
    assert.equal(image.code, 0, image.stderr);
    const tag = JSON.parse(image.stdout).result.tag as string;
    const publicKey = (await readFile(`${harness.ssh.identityFile}.pub`, 'utf8')).trim();
    const repository = FROM_MIRROR ? undefined : await ensureDebRepository(tag, ['rsync', 'docker.io']);
    const setup = [
      'set -e',
      ...(repository ? [useDebRepositoryScript(REPO_MOUNT)] : []),
      'useradd -m -s /bin/bash dev',
      'install -d -m 700 -o dev -g dev /home/dev/.ssh',
      'printf "%s\\n" "$KEY" > /home/dev/.ssh/authorized_keys && chown dev:dev /home/dev/.ssh/authorized_keys && chmod 600 /home/dev/.ssh/authorized_keys',
      'echo "dev ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/dev',
      'mkdir -p /run/sshd && ssh-keygen -A >/dev/null',
      'exec /usr/sbin/sshd -D -e',
    ].join('\n');
    await runOk('docker', [
      'run', '-d', '--name', name, '--label', 'dev.mltoolbox.test=doctor-fix', '-p', '127.0.0.1::22', '-e', `KEY=${publicKey}`,
      ...(repository ? ['-v', `${repository}:${REPO_MOUNT}:ro`] : []), tag, 'sh', '-c', setup,
    ], { timeoutMs: 60_000 });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), ['version: 1', 'environment:', `  base_image: ${harness.docker.baseImage}`, '  gpus: none', ''].join('\n'));
    const port = (await runOk('docker', ['port', name, '22/tcp'])).trim().split('\n')[0]!.split(':').pop()!;
    const sshConfig = sandbox.path('fresh-ssh-config');
    await writeFile(sshConfig, [`Host ${ALIAS}`, '  HostName 127.0.0.1', `  Port ${port}`, '  User dev', `  IdentityFile ${harness.ssh.identityFile}`, '  IdentitiesOnly yes', '  BatchMode yes',
      // The container's sshd on a loaded 2-core machine: a key exchange has taken over the default 10 s.
      '  ConnectTimeout 30', ''].join('\n'));
    sandbox.env.MLTOOLBOX_SSH_CONFIG = sshConfig;
    sandbox.env.MLTOOLBOX_KNOWN_HOSTS = sandbox.path('fresh-known-hosts');
    await waitFor('sshd in the fresh host', async () => (await run('ssh', ['-F', sshConfig, '-o', `UserKnownHostsFile=${sandbox.env.MLTOOLBOX_KNOWN_HOSTS}`, '-o', 'StrictHostKeyChecking=accept-new', ALIAS, 'true'], { timeoutMs: 10_000 })).code === 0, 30_000, 250);
  }, { timeout: BUILD_TIMEOUT_MS });

  after(async () => {
    await run('docker', ['rm', '-f', '-v', name], { timeoutMs: 60_000 });
  });

  it('without --yes and no terminal to ask, nothing runs: the first step is shown, the checks fail (exit 5)', async () => {
    const r = await mlt(['doctor', ALIAS, '--fix', '--no-gpu', '--json']);
    assert.equal(r.code, 5, r.stderr);
    const { result } = JSON.parse(r.stdout);
    assert.deepEqual(result.steps.map((s: { id: string; outcome: string }) => [s.id, s.outcome]), [['install-rsync', 'not-asked']]);
    assert.equal(result.changed, false);
    assert.match(r.stderr, /\$ sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync'/);
    assert.equal((await run('docker', ['exec', name, 'sh', '-c', 'command -v rsync || echo none'])).stdout.trim(), 'none', 'nothing ran');
  });

  it('connect without a terminal and without --yes: fails on the host check, its hint names doctor --fix, nothing runs', async () => {
    const r = await mlt(['connect', ALIAS, '--no-attach', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const { error } = JSON.parse(r.stdout);
    assert.equal(error.code, 'SYNC_RSYNC_MISSING_ON_HOST');
    assert.match(error.hint, new RegExp(`mltoolbox doctor ${ALIAS} --fix`));
    assert.doesNotMatch(r.stderr, /\$ sudo/, 'no fix offered');
    assert.equal((await run('docker', ['exec', name, 'sh', '-c', 'command -v rsync || echo none'])).stdout.trim(), 'none', 'nothing ran');
  });

  // apt-get in the fresh host downloads and installs docker.io  // apt-get in the fresh host downloads and installs docker.io: minutes on a loaded machine.
  it('--fix --yes: installs Docker from Debian, then runs the start that fits a host without systemd', { timeout: BUILD_TIMEOUT_MS }, async () => {
    const r = await mlt(['doctor', ALIAS, '--fix', '--yes', '--no-gpu', '--json']);
    const { result } = JSON.parse(r.stdout);
    // One step at a time, each judged on the host as the previous one left it.
    assert.deepEqual(result.steps.map((s: { id: string; command?: string; outcome: string }) => [s.id, s.command, s.outcome]), [
      ['install-rsync', `sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync'`, 'done'],
      ['install-docker', `sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io'`, 'done'],
      ['start-docker', 'sudo service docker start', 'failed'],
    ]);
    // Installed for real: the CLI and the engine are on the host now.
    const checks = Object.fromEntries(result.report.checks.map((c: { id: string; status: string; detail: string; fix: string | null }) => [c.id, c]));
    assert.equal(checks['host.docker-cli'].status, 'ok');
    assert.equal(checks['host.rsync'].status, 'ok');
    assert.match(checks['host.docker-cli'].detail, /^docker \d+\./);
    assert.equal(result.changed, true);
    // The engine cannot run in an unprivileged container: the start step ran and failed, with the host's own words (the init script's errors).
    assert.ok(result.steps[2].output.length > 0, 'the failure says why');
    assert.equal(checks['host.docker-daemon'].status, 'fail');
    assert.equal(checks['host.docker-daemon'].detail, 'the Docker daemon is installed but not running (no systemd on this host)');
    assert.equal(checks['host.docker-daemon'].fix, 'on the host: sudo service docker start');
    assert.equal(r.code, 5);
  });

  it('a second --fix --yes does not install again: the next step is the start', async () => {
    const r = await mlt(['doctor', ALIAS, '--fix', '--yes', '--no-gpu', '--json']);
    const { result } = JSON.parse(r.stdout);
    assert.deepEqual(result.steps.map((s: { id: string }) => s.id), ['start-docker']);
    assert.doesNotMatch(r.stderr, /apt-get install/);
  });

  it('connect --yes offers doctor\'s fix for the engine that does not run, runs it, and stops when it fails', { timeout: BUILD_TIMEOUT_MS }, async () => {
    const r = await mlt(['connect', ALIAS, '--no-attach', '--yes', '--json']);
    assert.equal(r.code, 4, r.stderr);
    const { error } = JSON.parse(r.stdout);
    assert.equal(error.code, 'DOCKER_UNREACHABLE');
    assert.match(r.stderr, new RegExp(`mltoolbox doctor can fix it on ${ALIAS}, one step at a time`));
    assert.match(r.stderr, /fix on fresh-debian: Start the Docker Engine \(no systemd on this host\)\n\s+\$ sudo service docker start/);
    assert.match(r.stderr, /connect stops here: the fix "Start the Docker Engine \(no systemd on this host\)" failed/);
    assert.doesNotMatch(r.stderr, /apt-get install/, 'what is installed is not installed again');
  });

  it('connect on a terminal shows the command and asks; "n" runs nothing and the error stands', { timeout: BUILD_TIMEOUT_MS }, async () => {
    // `script` gives the binary a pseudo-terminal; the answer goes in on stdin.
    const command = [process.execPath, BIN, 'connect', ALIAS, '--no-attach'].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const r = await run('script', ['-q', '-e', '-c', command, '/dev/null'], { env: sandbox.env, cwd: sandbox.projectDir, input: 'n\n', timeoutMs: BUILD_TIMEOUT_MS });
    const out = r.stdout.replace(/\r/g, '');
    assert.notEqual(r.code, 0, out);
    assert.match(out, /\$ sudo service docker start/);
    assert.match(out, /Run it on fresh-debian\? \[y\/N\]/);
    assert.match(out, /connect stops here: the fix "Start the Docker Engine \(no systemd on this host\)" was declined/);
    assert.match(out, /DOCKER_UNREACHABLE/);
  });
});
