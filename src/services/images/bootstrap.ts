import { createHash } from 'node:crypto';
import { UserError } from '../../core/errors.ts';

/**
 * Offline base images: a Debian/Ubuntu root filesystem made with debootstrap
 * from the machine's own distribution mirror, then `docker import`ed. No
 * container registry is involved, so this works on air-gapped machines and CI.
 * Pure parts here (what to build, its tag, the mirror); running it is in
 * bootstrap-builder.ts.
 */

export interface BootstrapSpec {
  /** `debian` or `ubuntu`. */
  family: 'debian' | 'ubuntu';
  /** The release's code name: bookworm, trixie, jammy, noble. */
  suite: string;
  /** Added on top of debootstrap's minbase, sorted and unique. */
  packages: string[];
  /** The archive to install from, e.g. http://deb.debian.org/debian. */
  mirror: string;
}

export const DEFAULT_BOOTSTRAP_DISTRO = 'debian:bookworm';
/** A dev container worth opening: Python with venv (a venv brings its own pip: Debian's python3 refuses system-wide pip installs), CA certificates for HTTPS. */
export const DEFAULT_BOOTSTRAP_PACKAGES: readonly string[] = ['ca-certificates', 'python3', 'python3-venv'];
/** Bump when the recipe (debootstrap flags, clean-up, image changes) changes: the cached image is then rebuilt. */
export const BOOTSTRAP_RECIPE_VERSION = '1';
export const BOOTSTRAP_REPOSITORY = 'mltoolbox/bootstrap';
/** Set on every bootstrapped image: what it was made from. */
export const BOOTSTRAP_LABEL = 'dev.mltoolbox.bootstrap';

const SUITE = /^[a-z][a-z0-9-]{1,30}$/;
// Debian policy: lower case letters, digits, + - . ; at least two characters, starting alphanumeric.
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const FAMILY_DEFAULT_MIRROR = { debian: 'http://deb.debian.org/debian', ubuntu: 'http://archive.ubuntu.com/ubuntu' } as const;

/** `debian:bookworm` -> family and suite; anything else is a usage error that names what works. */
export function parseDistro(text: string): { family: BootstrapSpec['family']; suite: string } {
  const [family, suite, extra] = text.trim().split(':');
  if ((family === 'debian' || family === 'ubuntu') && suite && SUITE.test(suite) && extra === undefined) return { family, suite };
  throw new UserError('USAGE', `--distro ${JSON.stringify(text)} is not a distribution mltoolbox can bootstrap`,
    'name a Debian or Ubuntu release by its code name: --distro debian:bookworm, debian:trixie, ubuntu:jammy, ubuntu:noble');
}

/** `python3,python3-venv` (or repeated options) -> sorted unique names, each a valid Debian package name. */
export function parsePackages(values: readonly string[]): string[] {
  const names = values.flatMap((v) => v.split(',')).map((n) => n.trim()).filter(Boolean);
  for (const name of names) {
    if (!PACKAGE.test(name)) {
      throw new UserError('USAGE', `--packages: ${JSON.stringify(name)} is not a Debian package name`, 'list package names separated by commas: --packages python3,python3-venv,git');
    }
  }
  return [...new Set(names)].sort();
}

export function validateMirror(url: string): string {
  if (!/^(https?|file):\/\/[^\s'"\\]+$/.test(url)) {
    throw new UserError('USAGE', `the mirror ${JSON.stringify(url)} is not an http(s):// or file:// URL`, 'pass the archive URL your apt uses, e.g. --mirror http://deb.debian.org/debian');
  }
  return url.replace(/\/+$/, '');
}

export interface AptSourceFile {
  path: string;
  text: string;
}

interface AptSource {
  uri: string;
  suites: string[];
}

/** Every `deb` source in deb822 (`.sources`) and one-line (`.list`) files. */
export function parseAptSources(files: readonly AptSourceFile[]): AptSource[] {
  const sources: AptSource[] = [];
  for (const file of files) {
    if (file.path.endsWith('.sources')) {
      for (const stanza of file.text.split(/\n\s*\n/)) {
        const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb') || /^Enabled:\s*no\s*$/mi.test(stanza)) continue;
        for (const uri of field('URIs')) sources.push({ uri, suites: field('Suites') });
      }
    } else {
      for (const raw of file.text.split('\n')) {
        const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(raw.trim());
        if (match) sources.push({ uri: match[1]!, suites: [match[2]!] });
      }
    }
  }
  return sources;
}

/**
 * The mirror to bootstrap `suite` from: the machine's apt source for that
 * suite, else its main archive for another suite of the same family (a
 * Debian mirror serves every Debian release), else the family's public archive.
 */
export function chooseMirror(sources: readonly AptSource[], family: BootstrapSpec['family'], suite: string): { mirror: string; from: string } {
  const exact = sources.find((s) => s.suites.includes(suite));
  if (exact) return { mirror: exact.uri, from: `this machine's apt source for ${suite}` };
  // The main archive: its URI ends in /debian or /ubuntu and it serves a plain release (not -security, -updates).
  const main = sources.find((s) => new RegExp(`/${family}/?$`).test(s.uri) && s.suites.some((name) => SUITE.test(name) && !name.includes('-')));
  if (main) return { mirror: main.uri, from: `this machine's ${family} apt source` };
  return { mirror: FAMILY_DEFAULT_MIRROR[family], from: `the public ${family} archive (no apt source on this machine names one)` };
}

/** The image's tag: the same inputs always give the same tag, so a built image is found again instead of rebuilt. */
export function bootstrapTag(spec: BootstrapSpec, arch: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ recipe: BOOTSTRAP_RECIPE_VERSION, family: spec.family, suite: spec.suite, packages: spec.packages, mirror: spec.mirror, arch }))
    .digest('hex').slice(0, 12);
  return `${BOOTSTRAP_REPOSITORY}:${spec.suite}-${hash}`;
}

/** What the imported image gets: a shell by default, UTF-8, the usual PATH, and where it came from. */
export function bootstrapChanges(spec: BootstrapSpec): string[] {
  const origin = `${spec.family}:${spec.suite} ${spec.packages.join(',')}`;
  return [
    'CMD ["/bin/bash"]',
    'ENV LANG=C.UTF-8',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `LABEL ${BOOTSTRAP_LABEL}=${JSON.stringify(origin)}`,
  ];
}

/**
 * The root-side script: debootstrap into DIR/rootfs, trim caches, tar it to
 * DIR/rootfs.tar owned by the caller, remove the tree. Arguments arrive as
 * positional parameters ($1…), never spliced into the text.
 * `--one-file-system` keeps a clean-up after a failed run (with /proc still
 * mounted in the tree) from reaching into the host.
 */
export const BOOTSTRAP_SCRIPT = [
  'set -eu',
  'dir=$1 suite=$2 mirror=$3 include=$4 owner=$5 debootstrap=$6',
  'root="$dir/rootfs"',
  'cleanup() { for m in proc sys dev/pts dev; do umount "$root/$m" 2>/dev/null || true; done; rm -rf --one-file-system "$root"; }',
  'trap cleanup EXIT',
  '"$debootstrap" --variant=minbase ${include:+--include="$include"} "$suite" "$root" "$mirror" >&2',
  'rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/var/log/*.log',
  'tar --numeric-owner -C "$root" -cf "$dir/rootfs.tar" .',
  'chown "$owner" "$dir/rootfs.tar"',
].join('\n');
