import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runOk, waitFor } from './process.ts';

export interface DockerEndpoint {
  /** The engine's unix socket (DOCKER_HOST=unix://…). */
  socketPath: string;
  /** The offline test base image, e.g. mltoolbox-test/base:3f2a…; never pulled. */
  baseImage: string;
}

export interface RunningDocker {
  endpoint: DockerEndpoint;
  /** True when this harness started dockerd (and so stops it). */
  startedByUs: boolean;
  stop(): Promise<void>;
}

const SOCKET = '/var/run/docker.sock';

async function engineAnswers(): Promise<boolean> {
  const result = await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000, env: { ...process.env, DOCKER_HOST: `unix://${SOCKET}` } });
  return result.code === 0;
}

/**
 * Uses the running Docker Engine, or starts dockerd when we are root and
 * none runs (and stops it after). Fails with what to do when neither works.
 */
export async function ensureDocker(logDir: string): Promise<RunningDocker> {
  let startedByUs = false;
  let stop = async () => {};
  if (!(await engineAnswers())) {
    if (process.getuid?.() !== 0) {
      throw new Error('no Docker Engine answers on /var/run/docker.sock and we are not root to start one: start dockerd (sudo systemctl start docker) and run the tests again');
    }
    if (!existsSync('/usr/sbin/dockerd') && !(await run('sh', ['-c', 'command -v dockerd'])).stdout.trim()) {
      throw new Error('dockerd is not installed: apt-get install docker.io (scripts/test.sh does this as root)');
    }
    await mkdir(logDir, { recursive: true });
    const logFile = join(logDir, 'dockerd.log');
    const out = openSync(logFile, 'a');
    // Detached in its own session so a test runner's Ctrl-C does not kill it mid-teardown.
    const child = spawn('dockerd', ['--host', `unix://${SOCKET}`], { stdio: ['ignore', out, out], detached: true });
    child.unref();
    startedByUs = true;
    await waitFor('dockerd to answer', engineAnswers, 60_000, 250).catch(async (error: Error) => {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`${error.message}\nlast dockerd log lines:\n${log.split('\n').slice(-15).join('\n')}`);
    });
    stop = async () => {
      if (child.pid === undefined) return;
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        return;
      }
      await waitFor('dockerd to exit', async () => !(await engineAnswers()), 20_000, 250).catch(() => {});
    };
  }
  const baseImage = await ensureBaseImage(logDir);
  return { endpoint: { socketPath: SOCKET, baseImage }, startedByUs, stop };
}

/** Where Debian's busybox-static puts the binary. */
function busyboxPath(): string {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(candidate)) return candidate;
  throw new Error('busybox is not installed: apt-get install busybox-static (scripts/test.sh does this as root)');
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\ndev:x:1000:1000:dev:/home/dev:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\ndev:x:1000:\nnogroup:x:65534:\n';
/** Bump when the rootfs layout below changes, so the cached image is rebuilt. */
const LAYOUT_VERSION = '1';

/**
 * The test base image, built offline: busybox-static plus /etc/passwd,
 * `docker import`ed and tagged by the hash of its content so it is built
 * once per machine and reused by every test and run.
 */
export async function ensureBaseImage(workDir: string): Promise<string> {
  const busybox = busyboxPath();
  const binary = await readFile(busybox);
  const hash = createHash('sha256').update(LAYOUT_VERSION).update(binary).update(PASSWD).update(GROUP).digest('hex').slice(0, 12);
  const tag = `mltoolbox-test/base:${hash}`;
  if ((await run('docker', ['image', 'inspect', tag], { timeoutMs: 30_000 })).code === 0) return tag;

  const rootfs = join(workDir, `rootfs-${hash}`);
  await rm(rootfs, { recursive: true, force: true });
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'home/dev', 'workspace', 'var/tmp', 'proc', 'sys', 'dev']) {
    await mkdir(join(rootfs, dir), { recursive: true });
  }
  await writeFile(join(rootfs, 'bin/busybox'), binary, { mode: 0o755 });
  const applets = (await runOk(busybox, ['--list'])).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'busybox') continue;
    await symlink('/bin/busybox', join(rootfs, 'bin', applet)).catch(() => {});
  }
  await writeFile(join(rootfs, 'etc/passwd'), PASSWD);
  await writeFile(join(rootfs, 'etc/group'), GROUP);
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await runOk('sh', ['-c', `tar -C "$1" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$2"`, 'sh', rootfs, tag], { timeoutMs: 120_000 });
  await rm(rootfs, { recursive: true, force: true });
  return tag;
}

/**
 * Removes the containers and images that mltoolbox made for sandbox projects
 * (their project-path label lies under a sandbox folder): a long-lived dev
 * machine must not collect one image per test run. Never touches anything else.
 */
export async function removeSandboxLeftovers(prefixName: string): Promise<void> {
  const prefix = join(tmpdir(), prefixName);
  const label = 'dev.mltoolbox.project-path';
  const format = `{{.ID}}\t{{.Label "${label}"}}`;
  const ours = (listing: string) =>
    listing.split('\n').map((line) => line.split('\t')).filter(([id, path]) => id && path?.startsWith(prefix)).map(([id]) => id!);
  const containers = ours((await run('docker', ['ps', '-a', '--filter', `label=${label}`, '--format', format], { timeoutMs: 30_000 })).stdout);
  if (containers.length) await run('docker', ['rm', '-f', ...containers], { timeoutMs: 60_000 });
  // `docker images --format` has no .Label: list the ids, then read their labels.
  const imageIds = [...new Set((await run('docker', ['images', '-q', '--filter', `label=${label}`], { timeoutMs: 30_000 })).stdout.split('\n').filter(Boolean))];
  if (imageIds.length === 0) return;
  const labelled = await run('docker', ['image', 'inspect', '--format', `{{.Id}}\t{{index .Config.Labels "${label}"}}`, ...imageIds], { timeoutMs: 30_000 });
  const images = ours(labelled.stdout);
  if (images.length) await run('docker', ['rmi', '-f', ...new Set(images)], { timeoutMs: 60_000 });
}
