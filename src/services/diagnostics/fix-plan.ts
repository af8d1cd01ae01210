import { parseNvidiaSmi } from '../gpu/nvidia-smi.ts';
import { CDI_GENERATE } from '../containers/gpu.ts';
import {
  asRoot, DOCKER_INSTALL_DOCS, dockerGroupCommand, installDockerCommand, installDockerFromDockerCommand, installPodmanCommand, isDebianLike, parseHostFacts, restartDockerCommand, startDockerCommand, startPodmanCommand,
  type HostFacts,
} from './host-facts.ts';
import type { ProbeSections } from './probe.ts';
import type { Check } from './types.ts';

/**
 * `doctor --fix`: from one probe's findings, the next things to do, in the
 * order they unblock each other (install → start → permission → GPU runtime
 * → reboot). Pure: doctor shows each step, asks, runs it, probes again.
 */
export interface FixStep {
  /** Stable: install-rsync, install-docker, start-docker, docker-group, install-podman, start-podman, nvidia-toolkit, nvidia-runtime, nvidia-cdi, reboot. */
  id: string;
  /** What it does, for the question: "Install the Docker Engine (docker.io)". */
  title: string;
  /** The exact shell command, run on the host; undefined: a manual step mltoolbox cannot do for you. */
  command?: string;
  /** The manual instructions when there is no command (another distribution, a reboot). */
  manual?: string;
  /** What must happen before the result shows: a new login (group change) or a reboot. */
  then?: 'reconnect' | 'reboot';
  /** The result may take this long to show (a daemon starting): doctor probes again until then. */
  settleS?: number;
}

/** How long a starting Docker Engine may take to answer. */
const ENGINE_START_S = 30;

export const NVIDIA_TOOLKIT_GUIDE = 'https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html';

/** NVIDIA's apt repository and the toolkit (their install guide's Debian/Ubuntu steps, as one command). */
export const NVIDIA_TOOLKIT_APT = [
  'curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor --yes -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg',
  "curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' > /etc/apt/sources.list.d/nvidia-container-toolkit.list",
  'apt-get update -qq',
  'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nvidia-container-toolkit',
].join(' && ');

function status(checks: readonly Check[], id: string): Check | undefined {
  return checks.find((c) => c.id === id);
}

export interface PlanOptions {
  /** Install the Docker Engine from Docker's apt repository (docker-ce) instead of the distribution's docker.io. */
  dockerRepo?: boolean;
}

/** Everything the plan needs from one probe: its checks and the raw sections. */
export function planFixes(checks: readonly Check[], sections: ProbeSections, options: PlanOptions = {}): FixStep[] {
  const facts = parseHostFacts(sections.get('facts'));
  const user = sections.get('user')?.output.split('\n')[0]?.trim();
  if (user) facts.user = user;
  const steps: FixStep[] = [];
  const cli = status(checks, 'host.docker-cli');
  const daemon = status(checks, 'host.docker-daemon');
  if (status(checks, 'host.rsync')?.status === 'fail' && isDebianLike(facts)) {
    steps.push({ id: 'install-rsync', title: 'Install rsync (project sync)', command: asRoot(facts, 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync') });
  }
  if (status(checks, 'host.podman-cli')) {
    const engine = podmanSteps(checks, sections, facts);
    if (engine.length > 0) return [...steps, ...engine];
    return [...steps, ...gpuSteps(checks, sections, facts, 'podman'), ...rebootStep(facts)];
  }
  const notInstalled = cli?.status === 'fail' || (daemon?.status === 'fail' && /not the Docker Engine/.test(daemon.detail));

  if (notInstalled) {
    if (options.dockerRepo) {
      const fromDocker = installDockerFromDockerCommand(facts);
      steps.push(fromDocker
        ? { id: 'install-docker', title: `Install the Docker Engine from Docker's apt repository for ${facts.osId} ${facts.codename} (docker-ce)`, command: fromDocker }
        : { id: 'install-docker', title: 'Install the Docker Engine from Docker\'s repository', manual: `Docker's apt repository is for Debian and Ubuntu releases; install Docker Engine for ${facts.osId || 'this system'} as ${DOCKER_INSTALL_DOCS} describes (or run doctor --fix without --docker-repo for the distribution's docker.io), then run doctor --fix again` });
      return steps;
    }
    const install = installDockerCommand(facts);
    steps.push(install
      ? { id: 'install-docker', title: `Install the Docker Engine from ${facts.osId || 'the distribution'}'s packages (docker.io)`, command: install }
      : { id: 'install-docker', title: 'Install the Docker Engine', manual: `install Docker Engine for ${facts.osId || 'this system'} as ${DOCKER_INSTALL_DOCS} describes, then run doctor --fix again` });
    return steps; // nothing below can be judged before the engine exists
  }
  if (daemon?.status === 'fail') {
    if (/permission denied/.test(daemon.detail)) {
      steps.push(facts.inDockerGroup
        ? { id: 'docker-group', title: `Use the docker group ${facts.user} already has (a new login)`, then: 'reconnect' }
        : { id: 'docker-group', title: `Let ${facts.user} use Docker: add it to the docker group`, command: dockerGroupCommand(facts), then: 'reconnect' });
    } else if (/did not answer/.test(daemon.detail)) {
      steps.push({ id: 'start-docker', title: 'Restart the hung Docker Engine', manual: restartDockerCommand(facts) });
    } else {
      steps.push({ id: 'start-docker', title: `Start the Docker Engine${facts.systemd ? ' (systemd)' : ' (no systemd on this host)'}`, command: startDockerCommand(facts), settleS: ENGINE_START_S });
    }
    return steps;
  }
  const gpu = gpuSteps(checks, sections, facts, 'docker');
  return [...steps, ...gpu, ...(gpu.some((s) => s.id === 'reboot') ? [] : rebootStep(facts))];
}

function rebootStep(facts: HostFacts): FixStep[] {
  if (!facts.rebootRequired) return [];
  return [{ id: 'reboot', title: 'Reboot the host: an installed update asks for it (/var/run/reboot-required)', manual: asRoot(facts, 'reboot'), then: 'reboot' }];
}

/** Podman: installed, then its API served on the socket connect uses. */
function podmanSteps(checks: readonly Check[], sections: ProbeSections, facts: HostFacts): FixStep[] {
  if (status(checks, 'host.podman-cli')?.status === 'fail') {
    const install = installPodmanCommand(facts);
    return [install
      ? { id: 'install-podman', title: `Install Podman from ${facts.osId || 'the distribution'}'s packages`, command: install }
      : { id: 'install-podman', title: 'Install Podman', manual: `install Podman for ${facts.osId || 'this system'} (https://podman.io/docs/installation), then run doctor --fix again` }];
  }
  const service = status(checks, 'host.podman-service');
  if (service?.status !== 'fail' || /permission denied/.test(service.detail)) return [];
  const socket = sections.get('engine_socket')?.output.split('\n').pop()?.trim() ?? '';
  if (!socket.startsWith('/')) return [];
  const command = startPodmanCommand(facts, socket);
  return [{ id: 'start-podman', title: `Serve Podman's API at ${socket}${command.includes('systemctl') ? ' (its systemd socket unit)' : ' (podman system service, no systemd unit)'}`, command, settleS: ENGINE_START_S }];
}

/** With an NVIDIA driver working: the container toolkit, Docker's runtime and CDI. A broken driver only gets a reboot. */
function gpuSteps(checks: readonly Check[], sections: ProbeSections, facts: HostFacts, engine: 'docker' | 'podman'): FixStep[] {
  const smi = sections.get('nvidia_smi');
  if (!smi) return []; // --no-gpu or environment.gpus: none
  const report = parseNvidiaSmi(smi.output, smi.code);
  if (report.kind === 'version-mismatch') {
    return [{ id: 'reboot', title: 'Reboot the host: the NVIDIA driver was upgraded but the old kernel module is still loaded', manual: asRoot(facts, 'reboot'), then: 'reboot' }];
  }
  if (report.kind !== 'gpus') return []; // no driver: installing one is the user's call (doctor names it)

  const toolkitLines = sections.get('nvidia_toolkit')?.output.split('\n').map((l) => l.trim()) ?? [];
  const hasCtk = toolkitLines.some((l) => l.startsWith('bin ') && l.endsWith('/nvidia-ctk'));
  const hasCdi = toolkitLines.some((l) => l.startsWith('cdi '));
  const runtimeOk = status(checks, 'gpu.container-runtime')?.status === 'ok' && /nvidia runtime registered/.test(status(checks, 'gpu.container-runtime')!.detail);
  const steps: FixStep[] = [];
  if (!hasCtk) {
    steps.push(isDebianLike(facts)
      ? { id: 'nvidia-toolkit', title: 'Install the NVIDIA Container Toolkit (NVIDIA\'s apt repository)', command: asRoot(facts, NVIDIA_TOOLKIT_APT) }
      : { id: 'nvidia-toolkit', title: 'Install the NVIDIA Container Toolkit', manual: `follow ${NVIDIA_TOOLKIT_GUIDE} for ${facts.osId || 'this system'}, then run doctor --fix again` });
    return steps; // configure once nvidia-ctk exists
  }
  if (!runtimeOk && engine === 'docker') {
    steps.push({
      id: 'nvidia-runtime',
      title: 'Register the NVIDIA runtime with Docker and restart it',
      command: `${asRoot(facts, 'nvidia-ctk runtime configure --runtime=docker')} && ${restartCommandOnly(facts)}`,
      settleS: ENGINE_START_S,
    });
  }
  if (!hasCdi) {
    steps.push({ id: 'nvidia-cdi', title: 'Write the CDI spec for the GPUs (/etc/cdi/nvidia.yaml, used by Podman and CDI-enabled Docker)', command: asRoot(facts, CDI_GENERATE) });
  }
  return steps;
}

/** Restarting the engine as one runnable command (the hint version carries advice in parentheses). */
function restartCommandOnly(facts: HostFacts): string {
  if (facts.systemd) return asRoot(facts, 'systemctl restart docker');
  if (facts.dockerInitScript) return asRoot(facts, 'service docker restart');
  return asRoot(facts, 'pkill -x dockerd; sleep 2; nohup dockerd >/var/log/dockerd.log 2>&1 &');
}
