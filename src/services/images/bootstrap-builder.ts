import { createReadStream } from 'node:fs';
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { stderrTail } from '../../core/stderr-tail.ts';
import type { ProcessRunner } from '../../infrastructure/process.ts';
import type { ContainerManager } from '../containers/types.ts';
import {
  BOOTSTRAP_SCRIPT, bootstrapChanges, bootstrapTag, chooseMirror, DEFAULT_BOOTSTRAP_DISTRO, DEFAULT_BOOTSTRAP_PACKAGES, parseAptSources, parseDistro,
  parsePackages, validateMirror, type AptSourceFile, type BootstrapSpec,
} from './bootstrap.ts';

export interface BootstrapRequest {
  /** `debian:bookworm` (default). */
  distro?: string;
  /** Package names, comma-separated or one per entry (default: Python with venv and pip). */
  packages?: readonly string[];
  /** The archive URL (default: this machine's apt source for the release). */
  mirror?: string;
}

export interface BootstrapResult {
  tag: string;
  imageId: string;
  action: 'cached' | 'built';
  spec: BootstrapSpec;
  /** Where the mirror came from, for the user ("this machine's apt source for bookworm"). */
  mirrorFrom: string;
}

export interface BootstrapDeps {
  run: ProcessRunner;
  /** Runs a program on the user's terminal (sudo's password prompt); absent when we may not prompt. */
  runOnTerminal?: (command: string, args: readonly string[]) => Promise<number>;
  env: NodeJS.ProcessEnv;
  /** Where apt's source files live (default /etc/apt). */
  aptDir?: string;
  /** Bound on the whole debootstrap run (default 20 min: a slow mirror and many packages). */
  timeoutMs?: number;
}

const DEBIAN_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64' };

/** This machine's apt sources (deb822 files, sources.list and *.list). */
export async function readAptSources(aptDir = '/etc/apt'): Promise<AptSourceFile[]> {
  const files = [join(aptDir, 'sources.list')];
  const partDir = join(aptDir, 'sources.list.d');
  for (const name of (await readdir(partDir).catch(() => [])).sort()) {
    if (name.endsWith('.sources') || name.endsWith('.list')) files.push(join(partDir, name));
  }
  const read = await Promise.all(files.map(async (path) => ({ path, text: await readFile(path, 'utf8').catch(() => '') })));
  return read.filter((f) => f.text !== '');
}

/** Turns what the user asked for into a complete spec (defaults applied once, here). */
export async function resolveBootstrapSpec(request: BootstrapRequest, aptDir?: string): Promise<{ spec: BootstrapSpec; mirrorFrom: string }> {
  const { family, suite } = parseDistro(request.distro ?? DEFAULT_BOOTSTRAP_DISTRO);
  const packages = parsePackages(request.packages && request.packages.length > 0 ? request.packages : DEFAULT_BOOTSTRAP_PACKAGES);
  if (request.mirror) return { spec: { family, suite, packages, mirror: validateMirror(request.mirror) }, mirrorFrom: '--mirror' };
  const { mirror, from } = chooseMirror(parseAptSources(await readAptSources(aptDir)), family, suite);
  return { spec: { family, suite, packages, mirror: validateMirror(mirror) }, mirrorFrom: from };
}

export function debianArch(): string {
  return DEBIAN_ARCH[process.arch] ?? process.arch;
}

function failed(message: string, hint: string, details: string[] = []): UserError {
  return new UserError('IMAGE_BOOTSTRAP_FAILED', message, hint, { details });
}

async function findDebootstrap(env: NodeJS.ProcessEnv): Promise<string> {
  // Non-root PATHs often lack /usr/sbin, where Debian installs it.
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'debootstrap');
    if (await access(candidate).then(() => true, () => false)) return candidate;
  }
  throw failed('debootstrap is not installed on this machine', 'install it: sudo apt-get install debootstrap (bash scripts/setup.sh does this as root)');
}

/**
 * The bootstrapped image on `containers`' engine: found by its content tag,
 * or built now (debootstrap as root, through sudo when we are not root) and
 * imported. `onProgress` gets debootstrap's lines.
 */
export async function ensureBootstrapImage(
  containers: ContainerManager, request: BootstrapRequest, deps: BootstrapDeps, onProgress: (line: string) => void = () => {},
): Promise<BootstrapResult> {
  const { spec, mirrorFrom } = await resolveBootstrapSpec(request, deps.aptDir);
  const tag = bootstrapTag(spec, debianArch());
  const existing = await containers.imageId(tag);
  if (existing) return { tag, imageId: existing, action: 'cached', spec, mirrorFrom };

  const debootstrap = await findDebootstrap(deps.env);
  const dir = await mkdtemp(join(tmpdir(), 'mlt-bootstrap-'));
  try {
    const owner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const scriptArgs = ['-c', BOOTSTRAP_SCRIPT, 'mlt-bootstrap', dir, spec.suite, spec.mirror, spec.packages.join(','), owner, debootstrap];
    const [command, args] = await asRoot('sh', scriptArgs, deps);
    let pending = '';
    const result = await deps.run(command, args, {
      env: { ...deps.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      timeoutMs: deps.timeoutMs ?? 20 * 60_000,
      onStderr: (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) onProgress(line.trim());
      },
    });
    if (result.code !== 0) {
      const log = join(dir, 'rootfs', 'debootstrap', 'debootstrap.log');
      throw failed(
        result.timedOut ? `debootstrap of ${spec.family}:${spec.suite} did not finish in time` : `debootstrap of ${spec.family}:${spec.suite} from ${spec.mirror} failed (exit ${result.code})`,
        `check the mirror answers (apt-get update uses the same) and the package names exist (apt-cache policy NAME); debootstrap writes its log to ${log} while it runs`,
        stderrTail(result.stderr),
      );
    }
    const imported = await containers.importImage(createReadStream(join(dir, 'rootfs.tar')), tag, { changes: bootstrapChanges(spec) });
    return { tag, imageId: imported.imageId, action: 'built', spec, mirrorFrom };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** root runs it directly; anyone else through sudo (asking for the password on the terminal first, when we may). */
async function asRoot(command: string, args: readonly string[], deps: BootstrapDeps): Promise<[string, string[]]> {
  if (process.getuid?.() === 0) return [command, [...args]];
  if (deps.runOnTerminal) {
    const code = await deps.runOnTerminal('sudo', ['-v', '-p', '[mltoolbox] debootstrap needs root; password for %u: ']).catch(() => 127);
    if (code !== 0) throw failed('debootstrap needs root, and sudo did not grant it', 'run the command as root, or give your user sudo rights');
  }
  // -n: never wait for a password on a pipe we do not show.
  return ['sudo', ['-n', command, ...args]];
}
