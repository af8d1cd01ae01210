import type { CommandSpec } from '../../command.ts';

export const doctorSpec: CommandSpec = {
  name: 'doctor',
  summary: 'Check a GPU host (or this machine) is ready: ssh, Docker, rsync, disk, NVIDIA driver and container runtime',
  description: 'Runs every check in one ssh round trip and prints each result with the command that fixes it. '
    + 'TARGET is a saved remote, an ssh config alias, [user@]host[:port], ssh://user@host:port, or `local` for this machine '
    + '(default: remote.host from the configuration, else `local`). Exits 5 when a check fails; warnings do not fail. '
    + 'With --fix it offers the fixes it knows, one step at a time (Debian/Ubuntu; other systems get the manual steps). See docs/doctor.md.',
  group: 'Hosts',
  args: [{ name: 'TARGET', description: 'the host to check (default: remote.host, else local)' }],
  options: {
    'no-gpu': { type: 'boolean', description: 'Skip the NVIDIA driver and container runtime checks' },
    fix: { type: 'boolean', description: 'Offer to fix what fails, one step at a time: shows each command and asks before running it on the host (install and start Docker, the docker group, the NVIDIA Container Toolkit)' },
    yes: { type: 'boolean', short: 'y', description: 'With --fix: run every step without asking (for scripts)' },
    'docker-repo': { type: 'boolean', description: 'With --fix: install the Docker Engine from Docker\'s own apt repository (docker-ce, Debian and Ubuntu) instead of the distribution\'s docker.io' },
  },
  examples: ['mltoolbox doctor gpu-box', 'mltoolbox doctor gpu-box --fix', 'mltoolbox doctor gpu-box --fix --yes', 'mltoolbox doctor gpu-box --fix --docker-repo', 'mltoolbox doctor alice@10.0.0.5:2222 --no-gpu', 'mltoolbox doctor local', 'mltoolbox doctor --json'],
  load: () => import('./run.ts'),
};
