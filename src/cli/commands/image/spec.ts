import type { CommandSpec } from '../../command.ts';

export const imageBootstrapSpec: CommandSpec = {
  name: 'image bootstrap',
  summary: 'Build a base image offline from this machine\'s distribution mirror (debootstrap), cached by content',
  description: 'Makes a Debian or Ubuntu root filesystem with debootstrap from the apt mirror this machine already uses '
    + '(no container registry involved) and imports it into this machine\'s Docker Engine as mltoolbox/bootstrap:SUITE-HASH, '
    + 'where HASH covers the distribution, the packages and the mirror: the same request finds the image again instead of rebuilding it. '
    + 'Needs root (it asks for sudo otherwise). connect uses the default one when the default image cannot be pulled. See docs/images.md.',
  group: 'Hosts',
  options: {
    distro: { type: 'string', valueName: 'FAMILY:SUITE', description: 'Release to bootstrap: debian:bookworm (default), debian:trixie, ubuntu:noble, …' },
    packages: { type: 'string', multiple: true, valueName: 'LIST', description: 'Packages to add, comma-separated (default: ca-certificates,python3,python3-venv)' },
    mirror: { type: 'string', valueName: 'URL', description: 'Archive to install from (default: this machine\'s apt source for the release)' },
  },
  examples: [
    'mltoolbox image bootstrap',
    'mltoolbox image bootstrap --distro debian:bookworm --packages python3,python3-venv,git',
    'mltoolbox image bootstrap --mirror http://deb.debian.org/debian --json',
  ],
  load: () => import('./bootstrap.ts'),
};

export const imagePushSpec: CommandSpec = {
  name: 'image push',
  summary: 'Send an image from this machine\'s Docker Engine to a host\'s, only the layers it lacks (no registry)',
  description: 'Saves the image here, leaves out every layer the host already holds (compared by layer digest), and loads the rest '
    + 'into the host\'s engine through the SSH connection, with progress. connect does the same by itself when the host lacks an image '
    + 'and cannot pull it (environment.image_transfer). See docs/images.md.',
  group: 'Hosts',
  args: [
    { name: 'HOST', description: 'the host: a saved remote, an ssh alias or [user@]host[:port]', required: true },
    { name: 'IMAGE', description: 'the image on this machine, e.g. mltoolbox/myproj:3f2a9c or my-private/image:1', required: true },
  ],
  examples: ['mltoolbox image push gpu-box my-lab/train:2024-06', 'mltoolbox image push alice@10.0.0.5 pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime --json'],
  load: () => import('./push.ts'),
};
