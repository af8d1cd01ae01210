import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkContainerRuntime, checkDisk, checkDockerDaemon, checkDriver, checkLocalRsync, checkSshClient, evaluateHost } from '../../../../src/services/diagnostics/checks.ts';
import { parseHostFacts } from '../../../../src/services/diagnostics/host-facts.ts';
import type { ProbeSection } from '../../../../src/services/diagnostics/probe.ts';

const df = (availableKiB: number, mount = '/') => ({ code: 0, output: `Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 999999999 1 ${availableKiB} 1% ${mount}` });
const GiB = 1024 * 1024;

describe('client checks', () => {
  it('ssh -V', () => {
    assert.deepEqual(checkSshClient('OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026'), { id: 'client.ssh', title: 'SSH client', status: 'ok', detail: 'OpenSSH 9.2p1', fix: null });
    assert.equal(checkSshClient('OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2').status, 'ok');
    const old = checkSshClient('OpenSSH_7.4p1, OpenSSL 1.0.2k-fips');
    assert.equal(old.status, 'fail');
    assert.match(old.fix!, /7\.6/);
    assert.equal(checkSshClient(undefined).status, 'fail');
    assert.equal(checkSshClient('dropbear v2022').status, 'warn');
  });

  it('rsync --version', () => {
    assert.equal(checkLocalRsync('rsync  version 3.2.7  protocol version 31').detail, 'rsync 3.2.7');
    assert.equal(checkLocalRsync('rsync  version v3.4.1  protocol version 32').detail, 'rsync 3.4.1');
    assert.equal(checkLocalRsync('rsync  version 2.6.9  protocol version 29').status, 'warn');
    assert.equal(checkLocalRsync('openrsync: protocol version 29\nrsync version 2.6.9 compatible').status, 'warn');
    const missing = checkLocalRsync(undefined);
    assert.equal(missing.status, 'fail');
    assert.match(missing.fix!, /brew install rsync/);
  });
});

describe('host checks', () => {
  it('disk: ok from 10 GiB, warn below, fail below 1 GiB; mount points with spaces', () => {
    assert.equal(checkDisk(df(80 * GiB), '/root').detail, '80 GiB free on / (home /root)');
    const low = checkDisk(df(5.5 * GiB), '/home/a');
    assert.equal(low.status, 'warn');
    assert.match(low.detail, /^5\.5 GiB free/);
    assert.match(low.fix!, /docker system prune/);
    assert.equal(checkDisk(df(0.5 * GiB), '/h').status, 'fail');
    assert.match(checkDisk(df(20 * GiB, '/mnt/my disk'), '/h').detail, /on \/mnt\/my disk/);
    assert.equal(checkDisk({ code: 1, output: 'df: /x: No such file' }, '/x').status, 'warn');
  });

  it('docker daemon failures', () => {
    const facts = parseHostFacts({ code: 0, output: 'systemd=1\nid=debian\nuid=1000\nuser=u\ndockerd=1' });
    assert.equal(checkDockerDaemon({ code: 124, output: '' }, facts).detail, 'the daemon did not answer within 10 s');
    assert.equal(checkDockerDaemon({ code: 1, output: 'error during connect: something new' }, facts).detail, 'error during connect: something new');
    assert.equal(checkDockerDaemon({ code: 0, output: '26.1.0\n{}' }, facts).detail, 'Docker Engine 26.1.0');
  });

  describe('no Docker: not installed, installed but not running, no permission — each with a fix that works on that host', () => {
    const facts = (lines: string) => parseHostFacts({ code: 0, output: lines });
    const probe = (cli: ProbeSection, daemon: ProbeSection | undefined, factLines: string, local = false) => {
      const sections = new Map<string, ProbeSection>([['docker_cli', cli], ['facts', { code: 0, output: factLines }]]);
      if (daemon) sections.set('docker_daemon', daemon);
      return evaluateHost(sections, { connection: 'x', local, gpu: false, gpusRequired: false }).filter((c) => c.id.startsWith('host.docker'));
    };
    const notRunning = { code: 1, output: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' };

    it('not installed on Debian: the apt command (sudo for a user), and doctor --fix', () => {
      const [cli, daemon] = probe({ code: 127, output: 'docker: not found' }, undefined, 'systemd=0\nid=debian\nuid=1000\nuser=alice\ndockerd=0');
      assert.equal(cli!.detail, 'docker is not installed (not on PATH)');
      assert.equal(cli!.fix, `on the host: sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io' (or let mltoolbox doctor HOST --fix do it)`);
      assert.equal(daemon!.status, 'skip');
      const [local] = probe({ code: 127, output: '' }, undefined, 'systemd=0\nid=ubuntu\nuid=0\nuser=root\ndockerd=0', true);
      assert.equal(local!.fix, 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io (or let mltoolbox doctor local --fix do it)');
    });

    it('not installed elsewhere: the install guide, never apt-get', () => {
      const [cli] = probe({ code: 127, output: '' }, undefined, 'systemd=1\nid=arch\nuid=0\nuser=root\ndockerd=0');
      assert.match(cli!.fix!, /install Docker Engine for arch \(https:\/\/docs\.docker\.com\/engine\/install\/\)/);
      assert.doesNotMatch(cli!.fix!, /apt-get/);
    });

    it('installed but not running: systemctl only with systemd; else its init script, else dockerd itself', () => {
      const cli = { code: 0, output: 'Docker version 24.0.5' };
      const withSystemd = probe(cli, notRunning, 'systemd=1\nid=debian\nuid=1000\nuser=a\ndockerd=1')[1]!;
      assert.equal(withSystemd.detail, 'the Docker daemon is installed but not running');
      assert.equal(withSystemd.fix, 'on the host: sudo systemctl enable --now docker');
      const sysv = probe(cli, notRunning, 'systemd=0\nid=debian\nuid=0\nuser=root\ndockerd=1\ninitd_docker=1')[1]!;
      assert.equal(sysv.detail, 'the Docker daemon is installed but not running (no systemd on this host)');
      assert.equal(sysv.fix, 'on the host: service docker start');
      const bare = probe(cli, notRunning, 'systemd=0\nid=debian\nuid=0\nuser=root\ndockerd=1\ninitd_docker=0', true)[1]!;
      assert.equal(bare.fix, 'nohup dockerd >/var/log/dockerd.log 2>&1 &');
      for (const c of [sysv, bare]) assert.doesNotMatch(c.fix!, /systemctl/);
      // Docker 20.10's CLI with --format and no daemon prints only a template error (seen on Debian 12's docker.io).
      const template = { code: 1, output: 'template: :1:2: executing "" at <.ServerVersion>: reflect: indirection through nil pointer to embedded struct field Info' };
      assert.equal(probe(cli, template, 'systemd=0\nid=debian\nuid=0\nuser=root\ndockerd=1\ninitd_docker=1')[1]!.detail, 'the Docker daemon is installed but not running (no systemd on this host)');
    });

    it('the CLI without the engine is "not installed", not "not running"', () => {
      const [, daemon] = probe({ code: 0, output: 'Docker version 24.0.5' }, notRunning, 'systemd=0\nid=debian\nuid=0\nuser=root\ndockerd=0');
      assert.equal(daemon!.detail, 'the Docker CLI is installed but not the Docker Engine (no dockerd)');
      assert.match(daemon!.fix!, /apt-get install -y -qq docker\.io/);
    });

    it('no permission: add to the group, or just log in again when the group is already there', () => {
      const denied = { code: 1, output: 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' };
      const add = probe({ code: 0, output: 'Docker version 24' }, denied, 'systemd=1\nid=ubuntu\nuid=1000\nuser=alice\ndockerd=1\ndocker_group=0')[1]!;
      assert.equal(add.fix, 'on the host: sudo usermod -aG docker alice, then run doctor again (it opens a new login, where the group applies)');
      const relogin = probe({ code: 0, output: 'Docker version 24' }, denied, 'systemd=1\nid=ubuntu\nuid=1000\nuser=alice\ndockerd=1\ndocker_group=1', true)[1]!;
      assert.match(relogin.detail, /in the docker group, but not in this login yet/);
      assert.equal(relogin.fix, 'log out and in again (or run: newgrp docker)');
    });
  });

  it('container runtime: a CDI spec alone is enough; bad runtimes JSON is ignored', () => {
    const cdi = checkContainerRuntime({ code: 0, output: 'cdi /etc/cdi/nvidia.yaml' }, { code: 0, output: '25.0.0\nnot json' }, 'warn');
    assert.equal(cdi.status, 'ok');
    assert.equal(cdi.detail, 'CDI spec /etc/cdi/nvidia.yaml');
    assert.equal(checkContainerRuntime({ code: 0, output: '' }, { code: 1, output: 'down' }, 'fail').status, 'fail');
  });

  it('driver: version mismatch asks for a reboot; a hung nvidia-smi is a failure', () => {
    const mismatch = checkDriver({ code: 18, output: 'Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 550.127' }, 'warn');
    assert.equal(mismatch.status, 'fail');
    assert.match(mismatch.fix!, /reboot/);
    assert.match(checkDriver({ code: 124, output: '' }, 'warn').detail, /did not answer/);
  });

  it('non-Linux hosts warn', () => {
    const checks = evaluateHost(new Map([['os', { code: 0, output: 'Darwin 23.1.0 arm64' }]]), { connection: 'c', local: true, gpu: false, gpusRequired: false });
    const os = checks.find((c) => c.id === 'host.os')!;
    assert.equal(os.status, 'warn');
    assert.equal(checks.find((c) => c.id === 'host.connect')!.title, 'Host');
  });

  it('sections the probe never printed are failures pointing at --verbose, GPU skips carry the reason', () => {
    const checks = evaluateHost(new Map(), { connection: 'c', local: false, gpu: false, gpuSkipReason: 'skipped (environment.gpus: none)', gpusRequired: false });
    assert.equal(checks.find((c) => c.id === 'host.os')!.status, 'fail');
    assert.match(checks.find((c) => c.id === 'host.os')!.fix!, /--verbose/);
    assert.deepEqual(checks.filter((c) => c.status === 'skip').map((c) => [c.id, c.detail, c.fix]), [
      ['gpu.driver', 'skipped (environment.gpus: none)', null],
      ['gpu.container-runtime', 'skipped (environment.gpus: none)', null],
    ]);
  });

  it('every check has a fix exactly when it warns or fails', () => {
    const checks = evaluateHost(new Map(), { connection: 'c', local: false, gpu: true, gpusRequired: false });
    for (const c of checks) assert.equal(c.fix !== null, c.status === 'warn' || c.status === 'fail', c.id);
  });
});
