import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { quoteShellArg } from '../../core/shell-quote.ts';
import type { ProbeSection } from './probe.ts';

/**
 * What a fix depends on: the init system, the distribution, whether we are
 * root, what of Docker is installed. Hints and `doctor --fix` read the same
 * facts, so a hint never suggests a command that cannot work on that host
 * (no systemctl where systemd does not run, no apt-get on Fedora).
 */
export interface HostFacts {
  /** systemd runs the machine (/run/systemd/system exists). */
  systemd: boolean;
  /** os-release ID and ID_LIKE: `debian`, `ubuntu`, `fedora`, … */
  osId: string;
  osLike: string[];
  /** Code name (VERSION_CODENAME), for repositories keyed by release. */
  codename: string;
  root: boolean;
  user: string;
  /** dockerd (the engine) is installed, whether or not it runs. */
  dockerd: boolean;
  /** A SysV init script for Docker exists (/etc/init.d/docker): `service docker start` works without systemd. */
  dockerInitScript: boolean;
  /** The user is in the docker group (in /etc/group; a running session may not have it yet). */
  inDockerGroup: boolean;
  /** /var/run/reboot-required exists (Debian/Ubuntu: an update wants a reboot). */
  rebootRequired: boolean;
}

/** The probe's `facts` section: `key=value` lines printed by FACTS_SCRIPT. */
export const FACTS_SCRIPT = [
  `mlt_facts() {`,
  `  if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi`,
  `  if [ -r /etc/os-release ]; then ( . /etc/os-release; printf 'id=%s\\nlike=%s\\ncodename=%s\\n' "$ID" "$ID_LIKE" "$VERSION_CODENAME" ); fi`,
  `  printf 'uid=%s\\nuser=%s\\n' "$(id -u)" "$(id -un)"`,
  `  if command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || [ -x /usr/bin/dockerd ]; then echo dockerd=1; else echo dockerd=0; fi`,
  `  if [ -x /etc/init.d/docker ]; then echo initd_docker=1; else echo initd_docker=0; fi`,
  `  if grep -q "^docker:.*[:,]$(id -un)\\(,\\|\$\\)" /etc/group 2>/dev/null; then echo docker_group=1; else echo docker_group=0; fi`,
  `  if [ -e /var/run/reboot-required ]; then echo reboot=1; else echo reboot=0; fi`,
  `  return 0`,
  `}`,
];

export function parseHostFacts(section: ProbeSection | undefined): HostFacts {
  const values = new Map<string, string>();
  for (const line of section?.output.split('\n') ?? []) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const flag = (key: string) => values.get(key) === '1';
  return {
    systemd: flag('systemd'),
    osId: values.get('id') ?? '',
    osLike: (values.get('like') ?? '').split(/\s+/).filter(Boolean),
    codename: values.get('codename') ?? '',
    root: values.get('uid') === '0',
    user: values.get('user') || 'USER',
    dockerd: flag('dockerd'),
    dockerInitScript: flag('initd_docker'),
    inDockerGroup: flag('docker_group'),
    rebootRequired: flag('reboot'),
  };
}

export function isDebianLike(facts: HostFacts): boolean {
  return facts.osId === 'debian' || facts.osId === 'ubuntu' || facts.osLike.includes('debian') || facts.osLike.includes('ubuntu');
}

export function isFedoraLike(facts: HostFacts): boolean {
  return ['fedora', 'rhel', 'centos', 'rocky', 'almalinux'].includes(facts.osId) || facts.osLike.includes('fedora') || facts.osLike.includes('rhel');
}

/** `sudo CMD`, or CMD as root. A command with shell syntax runs under `sudo sh -c`. */
export function asRoot(facts: Pick<HostFacts, 'root'>, command: string): string {
  if (facts.root) return command;
  return /[;&|<>]/.test(command) ? `sudo sh -c ${quoteShellArg(command)}` : `sudo ${command}`;
}

/** Installs the Docker Engine from the distribution's packages; undefined where we know no package. */
export function installDockerCommand(facts: HostFacts): string | undefined {
  if (isDebianLike(facts)) return asRoot(facts, 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io');
  if (isFedoraLike(facts)) return asRoot(facts, 'dnf install -y moby-engine');
  return undefined;
}

/** Docker's own apt repository, keyed by distribution and release (download.docker.com/linux/ID CODENAME). */
export const DOCKER_APT = 'https://download.docker.com/linux';

/**
 * Installs the Docker Engine from Docker's apt repository (docker-ce, newer
 * than the distribution's docker.io), as Docker's install guide does for
 * Debian and Ubuntu; undefined for anything else (derivatives have codenames
 * Docker's repository does not know): the guide is the manual step.
 */
export function installDockerFromDockerCommand(facts: HostFacts): string | undefined {
  if (facts.osId !== 'debian' && facts.osId !== 'ubuntu') return undefined;
  if (!/^[a-z][a-z0-9-]{1,30}$/.test(facts.codename)) return undefined; // it goes into a sources line and a shell command
  const repo = `${DOCKER_APT}/${facts.osId}`;
  return asRoot(facts, [
    'apt-get update -qq',
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates curl',
    'install -m 0755 -d /etc/apt/keyrings',
    `curl -fsSL ${repo}/gpg -o /etc/apt/keyrings/docker.asc`,
    'chmod a+r /etc/apt/keyrings/docker.asc',
    `echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] ${repo} ${facts.codename} stable" > /etc/apt/sources.list.d/docker.list`,
    'apt-get update -qq',
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-ce docker-ce-cli containerd.io docker-buildx-plugin',
  ].join(' && '));
}

/** Starts the engine the way this host can: systemd, its SysV script, or dockerd in the background. */
export function startDockerCommand(facts: HostFacts): string {
  if (facts.systemd) return asRoot(facts, 'systemctl enable --now docker');
  if (facts.dockerInitScript) return asRoot(facts, 'service docker start');
  return asRoot(facts, 'nohup dockerd >/var/log/dockerd.log 2>&1 &');
}

/** How to restart a hung engine on this host. */
export function restartDockerCommand(facts: HostFacts): string {
  if (facts.systemd) return `${asRoot(facts, 'systemctl restart docker')} (journalctl -u docker shows why it hung)`;
  if (facts.dockerInitScript) return `${asRoot(facts, 'service docker restart')} (/var/log/docker.log shows why it hung)`;
  return `stop dockerd (${asRoot(facts, 'pkill -x dockerd')}), then ${startDockerCommand(facts)}`;
}

/** Installs Podman from the distribution's packages; undefined where we know no package. */
export function installPodmanCommand(facts: HostFacts): string | undefined {
  if (isDebianLike(facts)) return asRoot(facts, 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman');
  if (isFedoraLike(facts)) return asRoot(facts, 'dnf install -y podman');
  return undefined;
}

/**
 * Serves Podman's API on `socket`: its systemd socket unit for the usual paths
 * (root: /run/podman/podman.sock; a user: $XDG_RUNTIME_DIR/podman/podman.sock,
 * the user's own systemd), else `podman system service` in the background.
 */
export function startPodmanCommand(facts: HostFacts, socket: string): string {
  const rootful = socket === '/run/podman/podman.sock';
  if (facts.systemd && rootful) return asRoot(facts, 'systemctl enable --now podman.socket');
  if (facts.systemd && !facts.root && /^\/run\/user\/\d+\/podman\/podman\.sock$/.test(socket)) return 'systemctl --user enable --now podman.socket';
  const dir = socket.slice(0, socket.lastIndexOf('/')) || '/';
  const serve = `mkdir -p ${quoteShellArg(dir)} && nohup podman system service --time=0 ${quoteShellArg(`unix://${socket}`)} >/dev/null 2>&1 &`;
  return rootful ? asRoot(facts, serve) : serve;
}

export function dockerGroupCommand(facts: HostFacts): string {
  return asRoot(facts, `usermod -aG docker ${facts.user}`);
}

export const DOCKER_INSTALL_DOCS = 'https://docs.docker.com/engine/install/';

/** The same facts for this machine, read directly (the engine-unreachable hint has no probe). */
export function localHostFacts(exists: (path: string) => boolean = existsSync, osRelease: () => string = () => readFileSync('/etc/os-release', 'utf8')): HostFacts {
  let release = '';
  try {
    release = osRelease();
  } catch {
    // no os-release: facts stay unknown, hints fall back to the install guide
  }
  const field = (name: string) => new RegExp(`^${name}=(?:"([^"]*)"|(\\S*))`, 'm').exec(release)?.slice(1).find((v) => v !== undefined) ?? '';
  let user = 'USER';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return {
    systemd: exists('/run/systemd/system'),
    osId: field('ID'),
    osLike: field('ID_LIKE').split(/\s+/).filter(Boolean),
    codename: field('VERSION_CODENAME'),
    root: process.getuid?.() === 0,
    user,
    dockerd: ['/usr/sbin/dockerd', '/usr/bin/dockerd', '/usr/local/bin/dockerd'].some(exists),
    dockerInitScript: exists('/etc/init.d/docker'),
    inDockerGroup: false,
    rebootRequired: exists('/var/run/reboot-required'),
  };
}
