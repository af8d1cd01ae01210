import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * devcontainer-lock.json (containers.dev lockfile spec): per feature key as
 * written, the full `version`, the pinned `resolved` reference (OCI: by
 * manifest digest; tarball: its URL), the `integrity` (`sha256:` of the
 * artifact) and its `dependsOn` keys. Local folders are not locked.
 */
export interface LockEntry {
  version: string;
  resolved: string;
  integrity: string;
  dependsOn?: string[];
}

export interface Lockfile {
  features: Record<string, LockEntry>;
}

/** `.devcontainer.json` → `.devcontainer-lock.json`; anything else → `devcontainer-lock.json` beside it. */
export function lockfilePath(configFile: string): string {
  return join(dirname(configFile), basename(configFile).startsWith('.') ? '.devcontainer-lock.json' : 'devcontainer-lock.json');
}

export async function readLockfile(file: string): Promise<Lockfile | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<Lockfile>;
    if (!parsed || typeof parsed !== 'object' || typeof parsed.features !== 'object' || parsed.features === null) return undefined;
    const features: Record<string, LockEntry> = {};
    for (const [key, entry] of Object.entries(parsed.features)) {
      if (entry && typeof entry.resolved === 'string' && typeof entry.integrity === 'string' && /^sha256:[a-f0-9]{64}$/.test(entry.integrity)) {
        features[key] = { version: String(entry.version ?? ''), resolved: entry.resolved, integrity: entry.integrity, ...(Array.isArray(entry.dependsOn) ? { dependsOn: entry.dependsOn.map(String) } : {}) };
      }
    }
    return { features };
  } catch {
    return undefined;
  }
}

/** The lockfile's text: keys sorted, two-space JSON, trailing newline (as the reference implementation writes it). */
export function renderLockfile(lock: Lockfile): string {
  const features = Object.fromEntries(Object.keys(lock.features).sort().map((key) => {
    const e = lock.features[key]!;
    return [key, { version: e.version, resolved: e.resolved, integrity: e.integrity, ...(e.dependsOn?.length ? { dependsOn: [...e.dependsOn].sort() } : {}) }];
  }));
  return `${JSON.stringify({ features }, null, 2)}\n`;
}

/**
 * Writes the lockfile when its content changed (atomically); returns whether
 * it wrote. Nothing to lock (only local folders) and no lockfile yet: no
 * empty file appears in the project.
 */
export async function writeLockfile(file: string, lock: Lockfile): Promise<boolean> {
  const text = renderLockfile(lock);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === text || (current === undefined && Object.keys(lock.features).length === 0)) return false;
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
  return true;
}
