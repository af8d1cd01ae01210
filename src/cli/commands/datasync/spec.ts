import type { CommandSpec, OptionSpec } from '../../command.ts';

const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  remote: { type: 'string', short: 'r', valueName: 'REMOTE:PATH', description: 'The rclone path, e.g. gdrive:datasets (a remote from your rclone config)' },
  'local-dir': { type: 'string', short: 'l', valueName: 'DIR', description: 'The data folder, relative to the project folder where rclone runs (default: data)' },
  project: { type: 'string', short: 'p', valueName: 'NAME', description: 'A subfolder under the rclone path (REMOTE:PATH/NAME)' },
  mode: { type: 'string', short: 'm', valueName: 'MODE', description: 'Where rclone runs: local, host (over ssh) or container (in the dev container). Default: host when TARGET is given, else local' },
  'container-name': { type: 'string', valueName: 'NAME', description: 'With --mode container: this container instead of the project\'s dev container' },
  transfers: { type: 'string', valueName: 'N', description: 'Files copied in parallel (rclone --transfers)' },
  checkers: { type: 'string', valueName: 'N', description: 'Files compared in parallel (rclone --checkers)' },
  'chunk-size': { type: 'string', valueName: 'SIZE', description: 'Upload chunk size, e.g. 64M (rclone --drive-chunk-size)' },
  cutoff: { type: 'string', valueName: 'SIZE', description: 'Files larger than this use several streams, e.g. 250M (rclone --multi-thread-cutoff)' },
  exclude: { type: 'string', short: 'e', multiple: true, valueName: 'PATTERNS', description: 'rclone patterns not copied, comma-separated or repeated: -e "*.tmp,cache/**"' },
  'rclone-config': { type: 'string', valueName: 'FILE', description: 'rclone config file where rclone runs (sets RCLONE_CONFIG there)' },
  'dry-run': { type: 'boolean', short: 'n', description: 'List what would be copied; copy nothing' },
};

const TARGET = { name: 'target', description: "Host for --mode host/container: ssh alias, [user@]host[:port], a saved remote, or 'local'. Default: the project's last one" };

export const datasyncUpSpec: CommandSpec = {
  name: 'datasync up',
  group: 'Start here',
  summary: 'Copy a data folder to an rclone remote (cloud drive, S3, SFTP, ...); nothing is deleted',
  description: 'Runs rclone copy LOCAL_DIR REMOTE:PATH here, on the host or in the dev container. '
    + 'rclone reads its remotes (and their credentials) from its own config file; see docs/datasync.md.',
  args: [TARGET],
  options: OPTIONS,
  examples: [
    'mltoolbox datasync up -r gdrive:datasets -l data',
    'mltoolbox datasync up gpu-box --mode host -r s3:bucket/runs -l outputs --transfers 16',
    'mltoolbox datasync up -r gdrive:datasets --dry-run',
  ],
  load: () => import('./up.ts'),
};

export const datasyncDownSpec: CommandSpec = {
  ...datasyncUpSpec,
  name: 'datasync down',
  summary: 'Copy data from an rclone remote into a local (or host, or container) folder; nothing is deleted',
  description: 'Runs rclone copy REMOTE:PATH LOCAL_DIR here, on the host or in the dev container. See docs/datasync.md.',
  examples: [
    'mltoolbox datasync down -r gdrive:datasets -l data',
    'mltoolbox datasync down gpu-box --mode container -r gdrive:datasets/cifar -l data/cifar',
  ],
  load: () => import('./down.ts'),
};
