import { isAbsolute, posix, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { runProcess, type ProcessRunner } from '../../infrastructure/process.ts';
import type { ContainerManager } from '../../services/containers/types.ts';
import { localRcloneExecutor } from '../../services/datasync/local-executor.ts';
import { splitPatterns, validateCount, validateRemotePath, validateSize } from '../../services/datasync/rclone-args.ts';
import type { RcloneSyncManager } from '../../services/datasync/rclone-sync-manager.ts';
import type { DataSyncDirection, DataSyncMode, DataSyncProgress, DataSyncSummary, RcloneExecutor } from '../../services/datasync/types.ts';
import type { Host } from '../../services/host/types.ts';
import type { ConnectionOrchestrator } from '../connection/connection-orchestrator.ts';

export interface DataSyncOptions {
  direction: DataSyncDirection;
  /** Host for host/container mode; default: the project's last one. */
  target?: string;
  /** Default: host when a target is named, else local. */
  mode?: string;
  /** The data folder, relative to the project folder where rclone runs (default `data`). */
  localDir?: string;
  /** rclone path `REMOTE:PATH`. */
  remote?: string;
  /** A subfolder under the rclone path (v2's per-project folder). */
  project?: string;
  transfers?: string;
  checkers?: string;
  chunkSize?: string;
  cutoff?: string;
  exclude?: readonly string[];
  dryRun?: boolean;
  /** Container mode: this container instead of the project's dev container. */
  containerName?: string;
  /** RCLONE_CONFIG where rclone runs. Local mode also inherits it from the environment. */
  rcloneConfig?: string;
  signal?: AbortSignal;
}

export interface DataSyncResult extends DataSyncSummary {
  mode: DataSyncMode;
  /** Where rclone ran: `this machine`, the host, or `container NAME on HOST`. */
  where: string;
}

export interface DataSyncDeps {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  connection(): Promise<ConnectionOrchestrator>;
  rclone(): Promise<RcloneSyncManager>;
  runner?: ProcessRunner;
}

export const DEFAULT_DATA_DIR = 'data';
const MODES: readonly DataSyncMode[] = ['local', 'host', 'container'];

function parseMode(mode: string | undefined, target: string | undefined): DataSyncMode {
  if (mode === undefined) return target && target !== 'local' ? 'host' : 'local';
  if (!MODES.includes(mode as DataSyncMode)) {
    throw new UserError('USAGE', `--mode ${mode} is not one of ${MODES.join(', ')}`, 'local runs rclone here, host on the host over ssh, container inside the dev container');
  }
  return mode as DataSyncMode;
}

/** `gdrive:` + `proj` -> `gdrive:proj`; `gdrive:data` + `proj` -> `gdrive:data/proj`. */
export function joinRemotePath(remote: string, project: string | undefined): string {
  if (!project) return remote;
  const sub = project.replace(/^\/+|\/+$/g, '');
  if (remote.endsWith(':') || remote.endsWith('/')) return `${remote}${sub}`;
  return `${remote}/${sub}`;
}

const formatRate = (bytesPerSecond: number) => {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytesPerSecond;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}/s`;
};

export const progressText = (p: DataSyncProgress) =>
  `${p.percent}% · ${p.transfers}/${p.totalTransfers} files · ${formatRate(p.bytesPerSecond)}${p.etaSeconds !== undefined ? ` · ${p.etaSeconds}s left` : ''}`;

/** rclone on the engine's host (through the shared ssh connection); stderr streams back for progress. */
function hostExecutor(host: Host, name: string): RcloneExecutor {
  return {
    mode: 'host',
    where: name,
    installHint: `install rclone on ${name} (Debian/Ubuntu: sudo apt-get install rclone), or use --mode local or --mode container`,
    async run(argv, options) {
      // Only a config file path travels here, never a credential.
      const result = await host.exec(argv, { env: options.env, onStderr: options.onStderr, ...(options.signal ? { signal: options.signal } : {}) });
      return { code: result.exitCode, stderr: result.stderr };
    },
  };
}

/** rclone inside a container through the Docker API (locally or over the forwarded socket). */
function containerExecutor(containers: ContainerManager, id: string, label: string, workdir: string): RcloneExecutor {
  return {
    mode: 'container',
    where: label,
    installHint: 'add rclone to the dev container image (e.g. RUN apt-get install -y rclone in its Dockerfile), or use --mode host or --mode local',
    async run(argv, options) {
      const session = await containers.startExec(id, argv, { env: options.env, workdir });
      let stderr = '';
      session.stdout.resume();
      session.stderr.setEncoding('utf8');
      session.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        options.onStderr(chunk);
      });
      const onAbort = () => session.detach();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const { exitCode } = await session.done;
        // The engine answers 126/127 with no output of rclone's own when there is no such program.
        const rcloneSpoke = stderr.includes('"level"');
        return { code: exitCode, stderr, ...((exitCode === 126 || exitCode === 127) && !rcloneSpoke ? { notFound: true } : {}) };
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

/**
 * `datasync up|down`: copies a data folder between the project and an rclone
 * remote, with rclone running here, on the host, or inside the dev container
 * (where the data is used). Reuses the connection orchestrator to reach the
 * host and find the project's folder and container.
 */
export function createDataSyncOrchestrator(deps: DataSyncDeps) {
  const runner = deps.runner ?? runProcess;

  async function run(options: DataSyncOptions): Promise<DataSyncResult> {
    if (!options.remote) {
      throw new UserError('USAGE', `'datasync ${options.direction}' needs the rclone path`, `pass -r REMOTE:PATH, e.g. mltoolbox datasync ${options.direction} -r gdrive:datasets`);
    }
    const remotePath = joinRemotePath(validateRemotePath(options.remote), options.project);
    const mode = parseMode(options.mode, options.target);
    const localDir = options.localDir ?? DEFAULT_DATA_DIR;
    const base = {
      direction: options.direction,
      remotePath,
      ...(options.transfers !== undefined ? { transfers: validateCount(options.transfers, '--transfers') } : {}),
      ...(options.checkers !== undefined ? { checkers: validateCount(options.checkers, '--checkers') } : {}),
      ...(options.chunkSize !== undefined ? { chunkSize: validateSize(options.chunkSize, '--chunk-size') } : {}),
      ...(options.cutoff !== undefined ? { cutoff: validateSize(options.cutoff, '--cutoff') } : {}),
      exclude: splitPatterns(options.exclude ?? []),
      dryRun: options.dryRun ?? false,
      ...(options.rcloneConfig ? { configFile: options.rcloneConfig } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const transfer = async (executor: RcloneExecutor, dir: string): Promise<DataSyncResult> => {
      const rclone = await deps.rclone();
      const [from, to] = options.direction === 'up' ? [dir, remotePath] : [remotePath, dir];
      const verb = base.dryRun ? 'Checking what would copy' : 'Copying';
      const summary = await deps.reporter.task(`${verb} ${from} -> ${to} (rclone on ${executor.where})`, (task) =>
        rclone.transfer({ ...base, localDir: dir, onProgress: (p) => task.update(progressText(p)), onLog: (line) => deps.reporter.debug(line) }, executor));
      return { ...summary, mode, where: executor.where };
    };

    if (mode === 'local') {
      if (options.containerName) deps.reporter.warn('--container-name is only used with --mode container; ignored');
      return transfer(localRcloneExecutor({ env: deps.env, runner }), resolve(deps.projectDir, localDir));
    }
    const connection = await deps.connection();
    return connection.withSession(options.target, async (session) => {
      const { place } = session;
      if (mode === 'host') {
        if (place.host.local) {
          throw new UserError('USAGE', `--mode host needs a remote host, and ${place.name} is this machine`, 'name a host (mltoolbox datasync up HOST), or use --mode local');
        }
        const dir = posix.isAbsolute(localDir) ? localDir : posix.join(session.workspaceSource, localDir);
        return transfer(hostExecutor(place.host, place.name), dir);
      }
      let id: string;
      let label: string;
      if (options.containerName) {
        const info = await place.containers.inspect(options.containerName);
        if (!info?.running) {
          throw new UserError('CONTAINER_NOT_RUNNING', `no running container named ${options.containerName} on ${place.name}`,
            `check the name with: mltoolbox status ${place.name}, or leave out --container-name to use the project's dev container`);
        }
        id = info.id;
        label = `container ${info.name} on ${place.name}`;
      } else {
        id = await connection.requireContainer(session);
        label = `the dev container on ${place.name}`;
      }
      const workdir = session.loaded.config.project.workdir;
      const dir = posix.isAbsolute(localDir) || isAbsolute(localDir) ? localDir : posix.join(workdir, localDir);
      return transfer(containerExecutor(place.containers, id, label, workdir), dir);
    });
  }

  return { run };
}

export type DataSyncOrchestrator = ReturnType<typeof createDataSyncOrchestrator>;
