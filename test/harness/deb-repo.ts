import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { withBuildLock } from './debian-image.ts';
import { runOk } from './process.ts';

/**
 * The .deb files a fresh host of `image` needs for `packages` (their whole
 * dependency closure, as apt resolves it inside that image), downloaded once
 * from the machine's Debian mirror and kept by content under
 * ~/.cache/mltoolbox-test/debs/<hash of image and packages>, with a flat
 * `Packages` index. A fresh host then installs from it as a local apt
 * repository (`deb [trusted=yes] file:DIR ./`, the folder mounted read-only):
 * the same apt-get commands doctor --fix runs, in seconds instead of minutes
 * of mirror downloads, and no network once the cache exists.
 */
export async function ensureDebRepository(image: string, packages: readonly string[]): Promise<string> {
  const key = createHash('sha256').update(`${image}\n${[...packages].sort().join(',')}`).digest('hex').slice(0, 16);
  const dir = join(process.env.MLT_TEST_CACHE ?? join(homedir(), '.cache', 'mltoolbox-test'), 'debs', key);
  if (existsSync(join(dir, 'Packages'))) return dir;
  return withBuildLock(`mlt-debs-${key}`, async () => {
    if (existsSync(join(dir, 'Packages'))) return dir;
    const partial = `${dir}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    // apt inside the fresh host's own image decides the closure; the index is written there too (dpkg-deb is essential).
    const script = [
      'set -e',
      `apt-get update -qq`,
      `DEBIAN_FRONTEND=noninteractive apt-get install --download-only -y -qq -o Dir::Cache::archives=/out ${packages.join(' ')}`,
      'cd /out && rm -rf partial lock',
      'for f in *.deb; do dpkg-deb -f "$f"; printf "Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n" "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d" " -f1)"; done > Packages.tmp',
      'mv Packages.tmp Packages',
    ].join('\n');
    await runOk('docker', ['run', '--rm', '--label', 'dev.mltoolbox.test=deb-cache', '-v', `${partial}:/out`, image, 'sh', '-c', script], { timeoutMs: 20 * 60_000 });
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    return dir;
  });
}

/** The shell lines that make a fresh host install only from the repository mounted at `mount`. */
export function useDebRepositoryScript(mount: string): string {
  return `rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && echo "deb [trusted=yes] file:${mount} ./" > /etc/apt/sources.list.d/mlt-local.list`;
}
