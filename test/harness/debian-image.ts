import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { run, runOk } from './process.ts';

/**
 * A realistic test image for scripts that need more than busybox (bash, apt,
 * python3, CA certificates, rsync, ssh-add, a Python language server): Debian bookworm built offline with debootstrap
 * from the machine's own apt mirror, `docker import`ed and tagged by a hash of
 * its inputs, so it is built once per machine (~45 s) and reused by every run.
 *
 * Built lazily: only test files that call `ensureDebianImage()` pay for it.
 * Never pulled from a registry.
 */
export interface DebianImage {
  /** e.g. mltoolbox-test/debian:3f2a9c…; exists on the harness's engine. */
  tag: string;
  suite: string;
  /** Packages added on top of debootstrap's minbase. */
  packages: readonly string[];
}

const SUITE = 'bookworm';
/**
 * bash/python3/ca-certificates for scripts; rsync (rsync -e ssh through the
 * editor alias), openssh-client (ssh-add, for agent forwarding), python3-pylsp
 * (a real language server for mlt lsp-proxy; its plugins load only with
 * python3-setuptools), procps (ps, for process checks).
 */
const PACKAGES = ['python3', 'ca-certificates', 'bash', 'rsync', 'openssh-client', 'python3-pylsp', 'python3-setuptools', 'procps'] as const;
/** Bump when the build steps below change, so the cached image is rebuilt. */
const LAYOUT_VERSION = '1';
const BUILD_TIMEOUT_MS = 10 * 60_000;

/** The Debian mirror this machine's apt uses (deb822 sources first, then sources.list). */
export async function debianMirror(): Promise<string> {
  const deb822 = await readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => '');
  for (const stanza of deb822.split(/\n\s*\n/)) {
    const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
    const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
    if (uris && suites.includes(SUITE)) return uris;
  }
  const list = await readFile('/etc/apt/sources.list', 'utf8').catch(() => '');
  const line = list.split('\n').map((l) => /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(l.trim())).find((m) => m?.[2] === SUITE);
  if (line) return line[1]!;
  throw new Error(`no apt source for Debian ${SUITE} in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list: the Debian test image is built from the machine's own mirror`);
}

async function debootstrapVersion(): Promise<string> {
  const result = await run('dpkg-query', ['-W', '-f', '${Version}', 'debootstrap'], { timeoutMs: 10_000 });
  if (result.code !== 0 || !existsSync('/usr/sbin/debootstrap')) {
    throw new Error('debootstrap is not installed: apt-get install debootstrap (scripts/test.sh does this as root)');
  }
  return result.stdout.trim();
}

/** A lock folder: concurrent test files build the image once; the others wait for it. */
export async function withBuildLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `${name}.lock`);
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const info = await stat(lock).catch(() => undefined);
      // A lock older than a build can take was left by a killed run.
      if (info && Date.now() - info.mtimeMs > BUILD_TIMEOUT_MS) await rmdir(lock).catch(() => {});
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} (another run building the Debian test image)`);
      await delay(500);
    }
  }
  try {
    return await work();
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

let pending: Promise<DebianImage> | undefined;

/**
 * The Debian test image (built on first use on this machine). Root's shell is
 * bash; `python3`, `ca-certificates`, rsync, ssh-add (openssh-client), pylsp and apt are there; no network is needed
 * inside it. Tests must not remove it.
 */
export function ensureDebianImage(): Promise<DebianImage> {
  pending ??= build();
  return pending;
}

async function build(): Promise<DebianImage> {
  const mirror = await debianMirror();
  const version = await debootstrapVersion();
  const hash = createHash('sha256').update(JSON.stringify({ LAYOUT_VERSION, SUITE, PACKAGES, mirror, version })).digest('hex').slice(0, 12);
  const tag = `mltoolbox-test/debian:${hash}`;
  const image: DebianImage = { tag, suite: SUITE, packages: PACKAGES };
  const exists = async () => (await run('docker', ['image', 'inspect', tag], { timeoutMs: 30_000 })).code === 0;
  if (await exists()) return image;
  return withBuildLock(`mltoolbox-test-debian-${hash}`, async () => {
    if (await exists()) return image;
    const rootfs = join(tmpdir(), `mlt-debian-${hash}-${process.pid}`);
    await rm(rootfs, { recursive: true, force: true });
    try {
      await runOk('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, rootfs, mirror], { timeoutMs: BUILD_TIMEOUT_MS });
      // The image must not carry the build machine's apt caches or resolver.
      await rm(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
      await mkdir(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
      await runOk('sh', ['-c', `tar -C "$1" -c . | docker import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV LANG=C.UTF-8' - "$2"`, 'sh', rootfs, tag], { timeoutMs: 300_000 });
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
    return image;
  });
}
