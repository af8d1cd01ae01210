import { describeGpus, parseNvidiaSmi } from '../gpu/nvidia-smi.ts';
import { DOCKER_TIMEOUT_S, NVIDIA_SMI_TIMEOUT_S, type ProbeSection, type ProbeSections } from './probe.ts';
import type { Check, CheckStatus } from './types.ts';
import { DOCKER_SOCKET, type EngineKind } from '../containers/engine-socket.ts';
import { CDI_GENERATE, PODMAN_CDI_MIN, podmanTakesCdi } from '../containers/gpu.ts';
import {
  asRoot, DOCKER_INSTALL_DOCS, dockerGroupCommand, installDockerCommand, installPodmanCommand, parseHostFacts, restartDockerCommand, startDockerCommand, startPodmanCommand, type HostFacts,
} from './host-facts.ts';

/**
 * Turns raw findings into checks: each one a status, a one-line detail and,
 * for a warning or failure, the fix (a command to run where one exists).
 * Pure functions: the probe and the client commands are run elsewhere.
 */

export const DISK_WARN_GIB = 10;
export const DISK_FAIL_GIB = 1;
const MIN_OPENSSH: readonly [number, number] = [7, 6]; // StrictHostKeyChecking=accept-new

export const FIXES = {
  installSsh: 'install the OpenSSH client: sudo apt-get install openssh-client (Debian/Ubuntu), sudo dnf install openssh-clients (Fedora)',
  upgradeSsh: 'upgrade the OpenSSH client to 7.6 or newer (e.g. sudo apt-get install --only-upgrade openssh-client)',
  installRsyncLocal: 'install rsync 3: sudo apt-get install rsync (Debian/Ubuntu), brew install rsync (macOS)',
  installRsyncHost: 'on the host: sudo apt-get install rsync (Debian/Ubuntu) or sudo dnf install rsync (Fedora)',
  installDriver: 'install the NVIDIA driver on the host: sudo ubuntu-drivers install (Ubuntu), or see https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/',
  loadDriver: 'on the host: load the driver (sudo modprobe nvidia) or reboot; dmesg | grep -i nvidia shows why it failed',
  rebootAfterDriverUpgrade: 'reboot the host: the NVIDIA driver was upgraded but the old kernel module is still loaded',
  installToolkit:
    'install the NVIDIA Container Toolkit on the host (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html), then: sudo nvidia-ctk runtime configure --runtime=docker and restart Docker; mltoolbox doctor HOST --fix does both with the commands that fit the host',
  freeDisk: 'free space on the host: docker system prune (unused images and build cache), or put the work folder on a larger disk',
} as const;

function check(id: string, title: string, status: CheckStatus, detail: string, fix: string | null = null): Check {
  return { id, title, status, detail, fix: status === 'ok' || status === 'skip' ? null : fix };
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}

// --- client (this machine) -------------------------------------------------

export function checkSshClient(versionOutput: string | undefined): Check {
  const title = 'SSH client';
  if (versionOutput === undefined) return check('client.ssh', title, 'fail', 'ssh is not installed or not on PATH', FIXES.installSsh);
  const match = /OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)(p\d+)?/.exec(versionOutput);
  if (!match) return check('client.ssh', title, 'warn', `not OpenSSH: ${firstLine(versionOutput)}`, 'mltoolbox needs the OpenSSH client (ControlMaster, accept-new); ' + FIXES.installSsh);
  const version = `${match[1]}.${match[2]}${match[3] ?? ''}`;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < MIN_OPENSSH[0] || (major === MIN_OPENSSH[0] && minor < MIN_OPENSSH[1])) {
    return check('client.ssh', title, 'fail', `OpenSSH ${version} is older than 7.6`, FIXES.upgradeSsh);
  }
  return check('client.ssh', title, 'ok', `OpenSSH ${version}`);
}

function rsyncVersion(output: string): { version?: string; openrsync: boolean } {
  const match = /rsync\s+version\s+v?(\d+\.\d+(?:\.\d+)?)/.exec(output);
  return { ...(match ? { version: match[1]! } : {}), openrsync: /openrsync/i.test(output) };
}

export function checkLocalRsync(versionOutput: string | undefined): Check {
  const title = 'rsync (this machine)';
  if (versionOutput === undefined) return check('client.rsync', title, 'fail', 'rsync is not installed', FIXES.installRsyncLocal);
  const { version, openrsync } = rsyncVersion(versionOutput);
  if (openrsync) return check('client.rsync', title, 'warn', 'openrsync (macOS) lacks options mltoolbox uses', FIXES.installRsyncLocal);
  if (!version) return check('client.rsync', title, 'warn', `unrecognised rsync: ${firstLine(versionOutput)}`, FIXES.installRsyncLocal);
  if (Number(version.split('.')[0]) < 3) return check('client.rsync', title, 'warn', `rsync ${version} is older than 3.0`, FIXES.installRsyncLocal);
  return check('client.rsync', title, 'ok', `rsync ${version}`);
}

// --- host (the probe) ------------------------------------------------------

export interface HostCheckOptions {
  /** How we reached the host: "root@10.0.0.5:22 over ssh" or "this machine". */
  connection: string;
  local: boolean;
  /** False: GPU checks are reported as skipped, with `gpuSkipReason`. */
  gpu: boolean;
  gpuSkipReason?: string;
  /** environment.gpus: required — a missing GPU stack fails instead of warning. */
  gpusRequired: boolean;
  /** environment.engine (default docker). */
  engine?: EngineKind;
}

/** The engine the host's containers go through: environment.engine, or for auto the socket the probe found. */
export function probedEngine(sections: ProbeSections, engine: EngineKind = 'docker'): 'docker' | 'podman' {
  if (engine !== 'auto') return engine;
  const socket = sections.get('engine_socket')?.output.split('\n').pop()?.trim();
  return !socket || socket === DOCKER_SOCKET ? 'docker' : 'podman';
}

export function evaluateHost(sections: ProbeSections, options: HostCheckOptions): Check[] {
  const facts = parseHostFacts(sections.get('facts'));
  const user = sections.get('user')?.output.split('\n')[0]?.trim() || facts.user;
  const podman = probedEngine(sections, options.engine) === 'podman';
  const checks: Check[] = [
    check('host.connect', options.local ? 'Host' : 'SSH connection', 'ok', options.connection),
    checkOs(sections.get('os')),
    ...(podman
      ? checkPodman(sections, { ...facts, user }, options.local)
      : checkDocker(sections.get('docker_cli'), sections.get('docker_daemon'), { ...facts, user }, options.local)),
    checkHostRsync(sections.get('rsync')),
    checkDisk(sections.get('disk'), sections.get('home')?.output),
  ];
  const runtimeTitle = podman ? 'NVIDIA CDI spec (Podman)' : 'NVIDIA container runtime';
  if (!options.gpu) {
    const reason = options.gpuSkipReason ?? 'skipped (--no-gpu)';
    checks.push(check('gpu.driver', 'NVIDIA driver', 'skip', reason), check('gpu.container-runtime', runtimeTitle, 'skip', reason));
  } else {
    const missing: CheckStatus = options.gpusRequired ? 'fail' : 'warn';
    const driver = checkDriver(sections.get('nvidia_smi'), missing);
    checks.push(driver, podman
      ? checkPodmanCdi(sections.get('nvidia_toolkit'), sections.get('podman_service'), driver, missing)
      : checkContainerRuntime(sections.get('nvidia_toolkit'), sections.get('docker_daemon'), missing));
  }
  return checks;
}

// --- Podman ----------------------------------------------------------------

/** Podman's CLI, and its Docker-compatible API on the socket connect will use. */
function checkPodman(sections: ProbeSections, facts: HostFacts, local: boolean): Check[] {
  const cli = sections.get('podman_cli');
  const service = sections.get('podman_service');
  const socket = sections.get('engine_socket')?.output.split('\n').pop()?.trim() || '?';
  if (!cli) return [missingSection('host.podman-cli', 'Podman'), missingSection('host.podman-service', 'Podman API socket')];
  if (cli.code === 127) {
    const install = installPodmanCommand(facts);
    const fix = install ? `${where(local)}${install} (or let ${local ? 'mltoolbox doctor local --fix' : 'mltoolbox doctor HOST --fix'} do it)` : `${where(local)}install Podman for ${facts.osId || 'this system'} (https://podman.io/docs/installation)`;
    return [check('host.podman-cli', 'Podman', 'fail', 'podman is not installed (not on PATH)', fix), check('host.podman-service', 'Podman API socket', 'skip', 'needs Podman')];
  }
  const cliCheck = check('host.podman-cli', 'Podman', 'ok', firstLine(cli.output).replace(/^podman version /, 'podman '));
  if (!service) return [cliCheck, missingSection('host.podman-service', 'Podman API socket')];
  if (service.code === 0) return [cliCheck, check('host.podman-service', 'Podman API socket', 'ok', `Podman ${firstLine(service.output)} answers at ${socket}`)];
  const start = `${where(local)}${startPodmanCommand(facts, socket)}`;
  if (DOCKER_TIMED_OUT.has(service.code)) return [cliCheck, check('host.podman-service', 'Podman API socket', 'fail', `Podman's API at ${socket} did not answer within ${DOCKER_TIMEOUT_S} s`, start)];
  if (/permission denied/i.test(service.output)) {
    return [cliCheck, check('host.podman-service', 'Podman API socket', 'fail', `permission denied on ${socket} for user ${facts.user}`, `use the socket of your own (rootless) Podman: unset remote.docker_socket, or run as root (${asRoot(facts, 'true')})`)];
  }
  return [cliCheck, check('host.podman-service', 'Podman API socket', 'fail', `nothing serves Podman's API at ${socket}${facts.systemd ? '' : ' (no systemd on this host)'}`, start)];
}

/** Podman hands GPUs out through CDI: with an NVIDIA driver, a CDI spec must name them (and Podman pass them on). */
function checkPodmanCdi(toolkit: ProbeSection | undefined, service: ProbeSection | undefined, driver: Check, missing: CheckStatus): Check {
  const id = 'gpu.container-runtime';
  const title = 'NVIDIA CDI spec (Podman)';
  if (driver.status !== 'ok') return check(id, title, 'skip', 'no working NVIDIA driver: no GPUs to describe');
  const lines = toolkit?.output.split('\n').map((l) => l.trim()) ?? [];
  const cdi = lines.filter((l) => l.startsWith('cdi ')).map((l) => l.slice(4));
  const hasCtk = lines.some((l) => l.startsWith('bin ') && l.endsWith('/nvidia-ctk'));
  if (cdi.length === 0) {
    const fix = hasCtk
      ? `on the host: sudo ${CDI_GENERATE} (or let mltoolbox doctor HOST --fix do it)`
      : `install the NVIDIA Container Toolkit (it brings nvidia-ctk), then: sudo ${CDI_GENERATE}; mltoolbox doctor HOST --fix does both`;
    return check(id, title, missing, 'no CDI spec for the GPUs in /etc/cdi or /var/run/cdi: Podman cannot give containers GPUs', fix);
  }
  const version = service?.code === 0 ? firstLine(service.output) : '';
  if (version && !podmanTakesCdi(version)) {
    return check(id, title, missing, `CDI spec ${cdi.join(', ')}; but Podman ${version} does not take CDI devices (from ${PODMAN_CDI_MIN.join('.')})`,
      `upgrade Podman to ${PODMAN_CDI_MIN.join('.')} or newer on the host, or use Docker (environment.engine: docker)`);
  }
  return check(id, title, 'ok', `CDI spec ${cdi.join(', ')}`);
}

function missingSection(id: string, title: string): Check {
  return check(id, title, 'fail', 'the probe did not report this (the host shell stopped early?)', 'run mltoolbox doctor --verbose to see the probe output');
}

function checkOs(section: ProbeSection | undefined): Check {
  if (!section) return missingSection('host.os', 'Operating system');
  const [uname = '', pretty] = section.output.split('\n').map((l) => l.trim());
  const [kernel, release, arch] = uname.split(/\s+/);
  const detail = `${pretty ? `${pretty}, ` : ''}${[kernel, release, arch].filter(Boolean).join(' ')}`;
  if (kernel !== 'Linux') {
    return check('host.os', 'Operating system', 'warn', `${detail}: GPU dev containers need a Linux host`, 'use a Linux host for GPU containers (Docker Desktop on macOS/Windows has no NVIDIA GPUs)');
  }
  return check('host.os', 'Operating system', 'ok', detail);
}

const DOCKER_TIMED_OUT = new Set([124, 137, 143]);

/** "on the host: " for a remote host; nothing for this machine. */
function where(local: boolean): string {
  return local ? '' : 'on the host: ';
}

function installDockerFix(facts: HostFacts, local: boolean): string {
  const install = installDockerCommand(facts);
  const fixHint = local ? 'mltoolbox doctor local --fix' : 'mltoolbox doctor HOST --fix';
  if (!install) return `${where(local)}install Docker Engine for ${facts.osId || 'this system'} (${DOCKER_INSTALL_DOCS}), then ${startDockerCommand(facts)}`;
  return `${where(local)}${install} (or let ${fixHint} do it)`;
}

function checkDocker(cli: ProbeSection | undefined, daemon: ProbeSection | undefined, facts: HostFacts, local = false): Check[] {
  if (!cli) return [missingSection('host.docker-cli', 'Docker CLI'), missingSection('host.docker-daemon', 'Docker daemon')];
  if (cli.code === 127) {
    return [
      check('host.docker-cli', 'Docker CLI', 'fail', `docker is not installed (not on PATH)${facts.dockerd ? '; dockerd is' : ''}`, installDockerFix(facts, local)),
      check('host.docker-daemon', 'Docker daemon', 'skip', 'needs the Docker CLI'),
    ];
  }
  const cliCheck = check('host.docker-cli', 'Docker CLI', 'ok', firstLine(cli.output).replace(/^Docker version /, 'docker '));
  if (!daemon) return [cliCheck, missingSection('host.docker-daemon', 'Docker daemon')];
  return [cliCheck, checkDockerDaemon(daemon, facts, local)];
}

export function checkDockerDaemon(daemon: ProbeSection, facts: HostFacts, local = false): Check {
  const title = 'Docker daemon';
  const out = daemon.output;
  const user = facts.user;
  if (daemon.code === 0) {
    const version = out.split('\n').map((l) => l.trim()).find((l) => /^\d+\.\d+/.test(l));
    return check('host.docker-daemon', title, 'ok', version ? `Docker Engine ${version}` : 'answers');
  }
  if (DOCKER_TIMED_OUT.has(daemon.code)) {
    return check('host.docker-daemon', title, 'fail', `the daemon did not answer within ${DOCKER_TIMEOUT_S} s`, `${where(local)}${restartDockerCommand(facts)}`);
  }
  if (/permission denied/i.test(out)) {
    // Group membership applies to new logins only; doctor drops its shared ssh connection so the next run is one.
    const relogin = local ? 'log out and in again (or run: newgrp docker)' : 'run doctor again (it opens a new login, where the group applies)';
    return facts.inDockerGroup
      ? check('host.docker-daemon', title, 'fail', `permission denied on the Docker socket for user ${user}: in the docker group, but not in this login yet`, relogin)
      : check('host.docker-daemon', title, 'fail', `permission denied on the Docker socket for user ${user}`, `${where(local)}${dockerGroupCommand(facts)}, then ${relogin}`);
  }
  if (!facts.dockerd && facts.osId !== '') {
    return check('host.docker-daemon', title, 'fail', 'the Docker CLI is installed but not the Docker Engine (no dockerd)', installDockerFix(facts, local));
  }
  // docker info --format with no daemon: the CLI's own words, or (20.10) a template error on the missing server info.
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|no such file or directory|connection refused|nil pointer to embedded struct field Info/i.test(out)) {
    return check('host.docker-daemon', title, 'fail', `the Docker daemon is installed but not running${facts.systemd ? '' : ' (no systemd on this host)'}`, `${where(local)}${startDockerCommand(facts)}`);
  }
  return check('host.docker-daemon', title, 'fail', firstLine(out) || `docker info exited with ${daemon.code}`, `${where(local)}${startDockerCommand(facts)}`);
}

function checkHostRsync(section: ProbeSection | undefined): Check {
  const title = 'rsync (host)';
  if (!section) return missingSection('host.rsync', title);
  if (section.code === 127) return check('host.rsync', title, 'fail', 'rsync is not installed on the host', FIXES.installRsyncHost);
  const { version } = rsyncVersion(section.output);
  return check('host.rsync', title, 'ok', version ? `rsync ${version}` : firstLine(section.output));
}

export function checkDisk(section: ProbeSection | undefined, home: string | undefined): Check {
  const title = 'Free disk space';
  if (!section || section.code !== 0) {
    return check('host.disk', title, 'warn', `could not read free space${section ? `: ${firstLine(section.output)}` : ''}`, `on the host: df -h ${home ?? '$HOME'}`);
  }
  // df -P: Filesystem 1024-blocks Used Available Capacity Mounted-on (the mount point may hold spaces).
  const fields = section.output.split('\n').pop()!.trim().split(/\s+/);
  const availableKiB = Number(fields[3]);
  const mount = fields.slice(5).join(' ');
  if (!Number.isFinite(availableKiB)) return check('host.disk', title, 'warn', `could not read free space: ${firstLine(section.output)}`, `on the host: df -h ${home ?? '$HOME'}`);
  const gib = availableKiB / 1024 / 1024;
  const detail = `${gib >= 10 ? Math.floor(gib) : gib.toFixed(1)} GiB free on ${mount || '?'}${home ? ` (home ${home})` : ''}`;
  if (gib < DISK_FAIL_GIB) return check('host.disk', title, 'fail', detail, FIXES.freeDisk);
  if (gib < DISK_WARN_GIB) return check('host.disk', title, 'warn', `${detail}; images and datasets need more than ${DISK_WARN_GIB} GiB`, FIXES.freeDisk);
  return check('host.disk', title, 'ok', detail);
}

export function checkDriver(section: ProbeSection | undefined, missing: CheckStatus): Check {
  const title = 'NVIDIA driver';
  if (!section) return missingSection('gpu.driver', title);
  if (DOCKER_TIMED_OUT.has(section.code)) {
    return check('gpu.driver', title, 'fail', `nvidia-smi did not answer within ${NVIDIA_SMI_TIMEOUT_S} s (a GPU may be hung)`, 'on the host: check dmesg for Xid errors; a reboot usually clears a hung GPU');
  }
  const report = parseNvidiaSmi(section.output, section.code);
  switch (report.kind) {
    case 'gpus': {
      const driver = report.gpus.find((g) => g.driverVersion)?.driverVersion;
      return check('gpu.driver', title, 'ok', `${describeGpus(report.gpus)}${driver ? `, driver ${driver}` : ''}`);
    }
    case 'not-installed':
      return check('gpu.driver', title, missing, 'no NVIDIA driver (nvidia-smi not found)', FIXES.installDriver);
    case 'no-driver':
      return check('gpu.driver', title, 'fail', `nvidia-smi cannot talk to the driver: ${report.message}`, FIXES.loadDriver);
    case 'version-mismatch':
      return check('gpu.driver', title, 'fail', `driver/library version mismatch: ${report.message}`, FIXES.rebootAfterDriverUpgrade);
    case 'error':
      return check('gpu.driver', title, 'fail', `nvidia-smi failed: ${report.message}`, 'run nvidia-smi on the host to see the full error');
  }
}

export function checkContainerRuntime(toolkit: ProbeSection | undefined, daemon: ProbeSection | undefined, missing: CheckStatus): Check {
  const title = 'NVIDIA container runtime';
  const found: string[] = [];
  const runtimesLine = daemon?.code === 0 ? daemon.output.split('\n').find((l) => l.trim().startsWith('{')) : undefined;
  if (runtimesLine) {
    try {
      const runtimes = Object.keys(JSON.parse(runtimesLine) as Record<string, unknown>);
      if (runtimes.some((r) => r.startsWith('nvidia'))) found.push('nvidia runtime registered in Docker');
    } catch {
      // not JSON: the daemon check reports daemon problems
    }
  }
  const lines = toolkit?.output.split('\n').map((l) => l.trim()) ?? [];
  const bins = lines.filter((l) => l.startsWith('bin ')).map((l) => l.slice(4).split('/').pop());
  const cdi = lines.filter((l) => l.startsWith('cdi ')).map((l) => l.slice(4));
  if (bins.length) found.push(`toolkit: ${bins.join(', ')}`);
  if (cdi.length) found.push(`CDI spec ${cdi.join(', ')}`);
  if (found.length === 0) {
    return check('gpu.container-runtime', title, missing, 'no NVIDIA runtime: nvidia-container-toolkit is not installed and no CDI spec exists', FIXES.installToolkit);
  }
  return check('gpu.container-runtime', title, 'ok', found.join('; '));
}
