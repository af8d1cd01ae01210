import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { quoteShellArg } from '../../../../src/core/shell-quote.ts';
import { evaluateHost } from '../../../../src/services/diagnostics/checks.ts';
import { NVIDIA_TOOLKIT_APT, planFixes } from '../../../../src/services/diagnostics/fix-plan.ts';
import type { ProbeSection } from '../../../../src/services/diagnostics/probe.ts';

/**
 * doctor --fix decides from one probe what to do next. No GPU and no fresh
 * host here: the sections are what the probe prints, nvidia-smi's from the
 * fixtures, and the exact commands are asserted.
 */
const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');
const DOCKER_OK = { code: 0, output: '26.1.0\n{"runc":{"path":"runc"}}' };
const DOCKER_NVIDIA = { code: 0, output: '26.1.0\n{"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}' };

function host(options: { facts: string; cli?: ProbeSection; daemon?: ProbeSection; smi?: ProbeSection; toolkit?: string; user?: string; rsync?: ProbeSection; dockerRepo?: boolean }) {
  const sections = new Map<string, ProbeSection>([
    ['os', { code: 0, output: 'Linux 6.1.0 x86_64\nDebian GNU/Linux 12 (bookworm)' }],
    ['user', { code: 0, output: `${options.user ?? 'root'}\n${options.user ?? 'root'}` }],
    ['facts', { code: 0, output: options.facts }],
    ['docker_cli', options.cli ?? { code: 0, output: 'Docker version 26.1.0' }],
    ['rsync', options.rsync ?? { code: 0, output: 'rsync  version 3.2.7  protocol version 31' }],
    ['disk', { code: 0, output: '/dev/sda1 104857600 1 94371840 1% /' }],
  ]);
  if (options.daemon) sections.set('docker_daemon', options.daemon);
  if (options.smi) sections.set('nvidia_smi', options.smi);
  if (options.toolkit !== undefined) sections.set('nvidia_toolkit', { code: 0, output: options.toolkit });
  const checks = evaluateHost(sections, { connection: 'x', local: false, gpu: options.smi !== undefined, gpusRequired: false });
  return planFixes(checks, sections, options.dockerRepo ? { dockerRepo: true } : {});
}

const ROOT_DEBIAN = 'systemd=0\nid=debian\ncodename=bookworm\nuid=0\nuser=root\ndockerd=1\ninitd_docker=1';
const USER_UBUNTU = 'systemd=1\nid=ubuntu\nlike=debian\ncodename=noble\nuid=1000\nuser=alice\ndockerd=1';

describe('doctor --fix: the plan', () => {
  it('a fresh Debian host: install Docker from the distribution first, nothing else yet', () => {
    const steps = host({ facts: 'systemd=0\nid=debian\nuid=0\nuser=root\ndockerd=0', cli: { code: 127, output: 'docker: not found' } });
    assert.deepEqual(steps.map((s) => [s.id, s.command]), [['install-docker', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io']]);
  });

  it('rsync missing too: installed first, then Docker', () => {
    const steps = host({ facts: 'systemd=0\nid=debian\nuid=0\nuser=root\ndockerd=0', cli: { code: 127, output: '' }, rsync: { code: 127, output: 'rsync: not found' } });
    assert.deepEqual(steps.map((s) => s.id), ['install-rsync', 'install-docker']);
  });

  it('a user on Ubuntu: the same through sudo sh -c, quoted', () => {
    const [step] = host({ facts: USER_UBUNTU.replace('dockerd=1', 'dockerd=0'), cli: { code: 127, output: '' }, user: 'alice' });
    assert.equal(step!.command, `sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io'`);
  });

  it('another distribution: the manual steps, no command', () => {
    const [step] = host({ facts: 'systemd=1\nid=arch\nuid=0\nuser=root\ndockerd=0', cli: { code: 127, output: '' } });
    assert.equal(step!.command, undefined);
    assert.match(step!.manual!, /install Docker Engine for arch as https:\/\/docs\.docker\.com\/engine\/install\/ describes/);
  });

  it('--docker-repo: Docker\'s apt repository for the release (docker-ce), as its install guide does; elsewhere the manual step', () => {
    const repo = (id: string, codename: string) => [
      'apt-get update -qq', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates curl', 'install -m 0755 -d /etc/apt/keyrings',
      `curl -fsSL https://download.docker.com/linux/${id}/gpg -o /etc/apt/keyrings/docker.asc`, 'chmod a+r /etc/apt/keyrings/docker.asc',
      `echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${id} ${codename} stable" > /etc/apt/sources.list.d/docker.list`,
      'apt-get update -qq', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-ce docker-ce-cli containerd.io docker-buildx-plugin',
    ].join(' && ');
    const debian = host({ facts: 'systemd=0\nid=debian\ncodename=bookworm\nuid=0\nuser=root\ndockerd=0', cli: { code: 127, output: '' }, dockerRepo: true });
    assert.deepEqual(debian.map((s) => [s.id, s.title, s.command]), [['install-docker', 'Install the Docker Engine from Docker\'s apt repository for debian bookworm (docker-ce)', repo('debian', 'bookworm')]]);
    const [ubuntu] = host({ facts: USER_UBUNTU.replace('dockerd=1', 'dockerd=0'), cli: { code: 127, output: '' }, user: 'alice', dockerRepo: true });
    assert.equal(ubuntu!.command, `sudo sh -c ${quoteShellArg(repo('ubuntu', 'noble'))}`);
    // Without the flag: the distribution's package, as before.
    assert.match(host({ facts: USER_UBUNTU.replace('dockerd=1', 'dockerd=0'), cli: { code: 127, output: '' }, user: 'alice' })[0]!.command!, /apt-get install -y -qq docker\.io'$/);
    // A derivative (its own codenames), a missing or hostile codename: no command, the guide.
    for (const facts of ['id=linuxmint\nlike=ubuntu debian\ncodename=wilma', 'id=debian\ncodename=', 'id=debian\ncodename=x; reboot']) {
      const [step] = host({ facts: `systemd=1\n${facts}\nuid=0\nuser=root\ndockerd=0`, cli: { code: 127, output: '' }, dockerRepo: true });
      assert.equal(step!.command, undefined, facts);
      assert.match(step!.manual!, /Docker's apt repository is for Debian and Ubuntu releases; install Docker Engine for \w+ as https:\/\/docs\.docker\.com\/engine\/install\/ describes/);
    }
  });

  it('installed, not running: start it the way the host can', () => {
    const down = { code: 1, output: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' };
    assert.deepEqual(host({ facts: ROOT_DEBIAN, daemon: down }).map((s) => s.command), ['service docker start']);
    assert.deepEqual(host({ facts: USER_UBUNTU, daemon: down, user: 'alice' }).map((s) => s.command), ['sudo systemctl enable --now docker']);
    assert.deepEqual(host({ facts: ROOT_DEBIAN.replace('initd_docker=1', 'initd_docker=0'), daemon: down }).map((s) => s.command), ['nohup dockerd >/var/log/dockerd.log 2>&1 &']);
  });

  it('no permission: the docker group, then a new login', () => {
    const denied = { code: 1, output: 'permission denied while trying to connect to the Docker daemon socket' };
    const [step] = host({ facts: `${USER_UBUNTU}\ndocker_group=0`, daemon: denied, user: 'alice' });
    assert.deepEqual([step!.id, step!.command, step!.then], ['docker-group', 'sudo usermod -aG docker alice', 'reconnect']);
    const [again] = host({ facts: `${USER_UBUNTU}\ndocker_group=1`, daemon: denied, user: 'alice' });
    assert.deepEqual([again!.id, again!.command, again!.then], ['docker-group', undefined, 'reconnect']);
  });

  it('an NVIDIA driver (A10) without the toolkit: NVIDIA\'s apt repository and the toolkit', () => {
    const steps = host({ facts: USER_UBUNTU, daemon: DOCKER_OK, smi: { code: 0, output: fixture('a10.csv') }, toolkit: '', user: 'alice' });
    assert.deepEqual(steps.map((s) => s.id), ['nvidia-toolkit']);
    assert.equal(steps[0]!.command, `sudo sh -c ${quoteShellArg(NVIDIA_TOOLKIT_APT)}`);
    assert.equal(NVIDIA_TOOLKIT_APT, [
      'curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor --yes -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg',
      "curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' > /etc/apt/sources.list.d/nvidia-container-toolkit.list",
      'apt-get update -qq',
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nvidia-container-toolkit',
    ].join(' && '));
  });

  it('toolkit installed (8x H100), runtime not registered: configure Docker and restart it, then CDI', () => {
    const steps = host({ facts: ROOT_DEBIAN, daemon: DOCKER_OK, smi: { code: 0, output: fixture('h100x8.csv') }, toolkit: 'bin /usr/bin/nvidia-ctk\nbin /usr/bin/nvidia-container-runtime' });
    assert.deepEqual(steps.map((s) => [s.id, s.command]), [
      ['nvidia-runtime', 'nvidia-ctk runtime configure --runtime=docker && service docker restart'],
      ['nvidia-cdi', 'nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml'],
    ]);
    const withSystemd = host({ facts: USER_UBUNTU, daemon: DOCKER_OK, smi: { code: 0, output: fixture('rtx4090.csv') }, toolkit: 'bin /usr/bin/nvidia-ctk', user: 'alice' });
    assert.equal(withSystemd[0]!.command, 'sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker');
  });

  it('everything in place: nothing to do', () => {
    assert.deepEqual(host({ facts: ROOT_DEBIAN, daemon: DOCKER_NVIDIA, smi: { code: 0, output: fixture('a100-mig.csv') }, toolkit: 'bin /usr/bin/nvidia-ctk\ncdi /etc/cdi/nvidia.yaml' }), []);
    assert.deepEqual(host({ facts: ROOT_DEBIAN, daemon: DOCKER_OK }), [], 'no GPU checks (--no-gpu): no GPU steps');
  });

  it('no driver or a broken one: no toolkit; a version mismatch or reboot-required asks for a reboot, never runs it', () => {
    assert.deepEqual(host({ facts: ROOT_DEBIAN, daemon: DOCKER_OK, smi: { code: 127, output: 'nvidia-smi: not found' }, toolkit: '' }), []);
    assert.deepEqual(host({ facts: ROOT_DEBIAN, daemon: DOCKER_OK, smi: { code: 9, output: fixture('no-driver.txt') }, toolkit: '' }), []);
    const [mismatch] = host({ facts: USER_UBUNTU, daemon: DOCKER_NVIDIA, smi: { code: 18, output: fixture('nvml-mismatch.txt') }, toolkit: 'bin /usr/bin/nvidia-ctk', user: 'alice' });
    assert.deepEqual([mismatch!.id, mismatch!.command, mismatch!.manual, mismatch!.then], ['reboot', undefined, 'sudo reboot', 'reboot']);
    const [pending] = host({ facts: `${ROOT_DEBIAN}\nreboot=1`, daemon: DOCKER_OK });
    assert.deepEqual([pending!.id, pending!.command, pending!.manual], ['reboot', undefined, 'reboot']);
  });
});

describe('doctor on a Podman host (environment.engine: podman or auto)', () => {
  const A10 = { code: 0, output: fixture('a10.csv') };
  function podmanHost(options: { facts: string; engine?: 'podman' | 'auto'; socket?: string; cli?: ProbeSection; service?: ProbeSection; smi?: ProbeSection; toolkit?: string }) {
    const sections = new Map<string, ProbeSection>([
      ['os', { code: 0, output: 'Linux 6.1.0 x86_64\nDebian GNU/Linux 12 (bookworm)' }],
      ['user', { code: 0, output: 'root\nroot' }],
      ['facts', { code: 0, output: options.facts }],
      ['docker_cli', { code: 127, output: 'docker: not found' }],
      ['engine_socket', { code: 0, output: options.socket ?? '/run/podman/podman.sock' }],
      ['podman_cli', options.cli ?? { code: 0, output: 'podman version 5.5.2' }],
      ['podman_service', options.service ?? { code: 0, output: '5.5.2' }],
      ['rsync', { code: 0, output: 'rsync  version 3.2.7  protocol version 31' }],
      ['disk', { code: 0, output: '/dev/sda1 104857600 1 94371840 1% /' }],
    ]);
    if (options.smi) sections.set('nvidia_smi', options.smi);
    if (options.toolkit !== undefined) sections.set('nvidia_toolkit', { code: 0, output: options.toolkit });
    const checks = evaluateHost(sections, { connection: 'x', local: false, gpu: options.smi !== undefined, gpusRequired: false, engine: options.engine ?? 'podman' });
    return { checks, steps: planFixes(checks, sections), byId: (id: string) => checks.find((c) => c.id === id)! };
  }
  const ROOT_SYSTEMD = 'systemd=1\nid=debian\nuid=0\nuser=root\ndockerd=0';

  it('Podman ready: its checks replace Docker\'s (no docker CLI is no failure), nothing to fix', () => {
    const { checks, steps, byId } = podmanHost({ facts: ROOT_SYSTEMD });
    assert.equal(checks.some((c) => c.id.startsWith('host.docker')), false);
    assert.deepEqual([byId('host.podman-cli').status, byId('host.podman-cli').detail], ['ok', 'podman 5.5.2']);
    assert.deepEqual([byId('host.podman-service').status, byId('host.podman-service').detail], ['ok', 'Podman 5.5.2 answers at /run/podman/podman.sock']);
    assert.deepEqual(steps, []);
  });

  it('not installed: install-podman from the distribution, then nothing else', () => {
    const { steps, byId } = podmanHost({ facts: ROOT_SYSTEMD, cli: { code: 127, output: 'podman: not found' } });
    assert.equal(byId('host.podman-cli').status, 'fail');
    assert.deepEqual(steps.map((s) => [s.id, s.command]), [['install-podman', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman']]);
  });

  it('socket not served: the systemd socket unit (rootful, rootless) or podman system service where there is no systemd', () => {
    const down = { code: 125, output: 'Cannot connect to Podman. Please verify your connection to the Linux system using `podman system connection list`' };
    const rootful = podmanHost({ facts: ROOT_SYSTEMD, service: down });
    assert.match(rootful.byId('host.podman-service').detail, /nothing serves Podman's API at \/run\/podman\/podman\.sock/);
    assert.deepEqual(rootful.steps.map((s) => [s.id, s.command]), [['start-podman', 'systemctl enable --now podman.socket']]);
    const rootless = podmanHost({ facts: 'systemd=1\nid=ubuntu\nuid=1000\nuser=alice', socket: '/run/user/1000/podman/podman.sock', service: down });
    assert.deepEqual(rootless.steps.map((s) => s.command), ['systemctl --user enable --now podman.socket']);
    const bare = podmanHost({ facts: 'systemd=0\nid=debian\nuid=0\nuser=root', socket: '/srv/my pod/podman.sock', service: down });
    assert.match(bare.byId('host.podman-service').detail, /\(no systemd on this host\)/);
    assert.deepEqual(bare.steps.map((s) => s.command), ["mkdir -p '/srv/my pod' && nohup podman system service --time=0 'unix:///srv/my pod/podman.sock' >/dev/null 2>&1 &"]);
  });

  it('auto: the probed socket decides — Docker\'s socket keeps the Docker checks', () => {
    const docker = podmanHost({ facts: ROOT_SYSTEMD, engine: 'auto', socket: '/var/run/docker.sock' });
    assert.ok(docker.checks.some((c) => c.id === 'host.docker-cli'));
    const podman = podmanHost({ facts: ROOT_SYSTEMD, engine: 'auto', socket: '/run/podman/podman.sock' });
    assert.ok(podman.checks.some((c) => c.id === 'host.podman-cli'));
  });

  it('an NVIDIA driver (nvidia-smi fixture) and no CDI spec: the check names nvidia-ctk cdi generate, --fix writes it; no Docker runtime step', () => {
    const { byId, steps } = podmanHost({ facts: ROOT_SYSTEMD, smi: A10, toolkit: 'bin /usr/bin/nvidia-ctk' });
    assert.equal(byId('gpu.driver').status, 'ok');
    const cdi = byId('gpu.container-runtime');
    assert.deepEqual([cdi.title, cdi.status], ['NVIDIA CDI spec (Podman)', 'warn']);
    assert.match(cdi.fix!, /sudo nvidia-ctk cdi generate --output=\/etc\/cdi\/nvidia\.yaml/);
    assert.deepEqual(steps.map((s) => [s.id, s.command]), [['nvidia-cdi', 'nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml']]);
  });

  it('with a CDI spec: ok (Podman 4.3 too: GPUs go through its libpod API); on a Podman older than 4.1 a warning that it has no CDI', () => {
    assert.equal(podmanHost({ facts: ROOT_SYSTEMD, smi: A10, toolkit: 'bin /usr/bin/nvidia-ctk\ncdi /etc/cdi/nvidia.yaml' }).byId('gpu.container-runtime').detail, 'CDI spec /etc/cdi/nvidia.yaml');
    const debian = podmanHost({ facts: ROOT_SYSTEMD, smi: A10, service: { code: 0, output: '4.3.1' }, toolkit: 'bin /usr/bin/nvidia-ctk\ncdi /var/run/cdi/nvidia.json' });
    assert.deepEqual([debian.byId('gpu.container-runtime').status, debian.byId('gpu.container-runtime').detail], ['ok', 'CDI spec /var/run/cdi/nvidia.json']);
    const old = podmanHost({ facts: ROOT_SYSTEMD, smi: A10, service: { code: 0, output: '3.4.4' }, toolkit: 'bin /usr/bin/nvidia-ctk\ncdi /var/run/cdi/nvidia.json' });
    assert.equal(old.byId('gpu.container-runtime').status, 'warn');
    assert.match(old.byId('gpu.container-runtime').detail, /Podman 3\.4\.4 does not take CDI devices \(from 4\.1\)/);
    assert.match(old.byId('gpu.container-runtime').fix!, /upgrade Podman to 4\.1 or newer/);
  });

  it('no NVIDIA driver (fixtures): the CDI check is skipped, nothing to fix', () => {
    for (const [file, code] of [['command-not-found.txt', 127], ['no-driver.txt', 9]] as const) {
      const { byId, steps } = podmanHost({ facts: ROOT_SYSTEMD, smi: { code, output: fixture(file) }, toolkit: '' });
      assert.equal(byId('gpu.container-runtime').status, 'skip', file);
      assert.deepEqual(steps.filter((s) => s.id.startsWith('nvidia')), [], file);
    }
  });
});
