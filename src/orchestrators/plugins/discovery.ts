import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, parse } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A plugin module found on disk (not yet imported). */
export interface FoundModule {
  kind: 'file' | 'package';
  /** The file to import. */
  file: string;
  /** Package name, for packages. */
  packageName?: string;
  /** The package's folder, for packages. */
  dir?: string;
}

export const PACKAGE_PREFIX = 'mltoolbox-plugin-';
export const PACKAGE_KEYWORD = 'mltoolbox-plugin';

const isPluginFile = (name: string) => /\.(?:m?js)$/.test(name) && !name.startsWith('.');

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** `$XDG_CONFIG_HOME/mltoolbox/plugins/*.{js,mjs}`. */
export async function findLocalFiles(pluginsDir: string): Promise<FoundModule[]> {
  return (await listDir(pluginsDir)).filter(isPluginFile).map((name) => ({ kind: 'file' as const, file: join(pluginsDir, name) }));
}

/**
 * Where packages are looked for: node_modules of the project folder and its
 * parents (Node's own resolution order), then the global folders.
 */
export function packageDirs(projectDir: string, env: NodeJS.ProcessEnv, execPath: string): string[] {
  const dirs: string[] = [];
  let dir = projectDir;
  for (;;) {
    dirs.push(join(dir, 'node_modules'));
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const prefix = env.npm_config_prefix ?? env.NPM_CONFIG_PREFIX;
  if (prefix) dirs.push(join(prefix, 'lib', 'node_modules'));
  dirs.push(join(dirname(dirname(execPath)), 'lib', 'node_modules'));
  for (const extra of (env.NODE_PATH ?? '').split(':')) if (extra) dirs.push(extra);
  return [...new Set(dirs)];
}

interface PackageJson {
  name?: string;
  main?: string;
  exports?: unknown;
  keywords?: unknown;
}

async function readPackageJson(dir: string): Promise<PackageJson | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The ESM entry of a package: exports["."] (import/node/default), else main, else index.js. */
function pickExport(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(pickExport).find(Boolean);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('.' in o) return pickExport(o['.']);
    for (const condition of ['import', 'node', 'default']) if (condition in o) return pickExport(o[condition]);
  }
  return undefined;
}

export async function packageEntry(dir: string): Promise<FoundModule | undefined> {
  const pkg = await readPackageJson(dir);
  if (!pkg) return undefined;
  const entry = pickExport(pkg.exports) ?? pkg.main ?? 'index.js';
  return { kind: 'package', file: join(dir, entry), packageName: pkg.name ?? parse(dir).base, dir };
}

/** A package by exact name in the first folder that has it. */
export async function findPackage(name: string, dirs: readonly string[]): Promise<FoundModule | undefined> {
  for (const dir of dirs) {
    const candidate = join(dir, ...name.split('/'));
    if (await isDirectory(candidate)) {
      const found = await packageEntry(candidate);
      if (found) return found;
    }
  }
  return undefined;
}

/** Every plugin package: named mltoolbox-plugin-* (also @scope/…) or with the mltoolbox-plugin keyword. */
export async function findAllPackages(dirs: readonly string[]): Promise<FoundModule[]> {
  const found = new Map<string, FoundModule>();
  for (const dir of dirs) {
    const names: string[] = [];
    for (const name of await listDir(dir)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) for (const inner of await listDir(join(dir, name))) names.push(`${name}/${inner}`);
      else names.push(name);
    }
    for (const name of names) {
      if (found.has(name)) continue;
      const packageDir = join(dir, ...name.split('/'));
      const base = name.split('/').pop()!;
      if (!base.startsWith(PACKAGE_PREFIX)) {
        const pkg = await readPackageJson(packageDir);
        if (!Array.isArray(pkg?.keywords) || !pkg.keywords.includes(PACKAGE_KEYWORD)) continue;
      }
      const entry = await packageEntry(packageDir);
      if (entry) found.set(name, entry);
    }
  }
  return [...found.values()];
}

/** A path entry: a file, or a package folder. */
export async function moduleAtPath(path: string): Promise<FoundModule | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (info.isDirectory()) return packageEntry(path);
  return { kind: 'file', file: path };
}

/** Imports a module and returns its plugin object: `export default` or `export const plugin`. */
export async function importPlugin(file: string, load: (url: string) => Promise<unknown> = (url) => import(url)): Promise<unknown> {
  const module = (await load(pathToFileURL(file).href)) as { default?: unknown; plugin?: unknown };
  const candidate = module.default ?? module.plugin;
  // A CommonJS module's exports arrive as `default`; an ESM default export of the object itself is the usual case.
  if (candidate && typeof candidate === 'object' && 'default' in candidate && !('name' in candidate)) return (candidate as { default: unknown }).default;
  return candidate;
}
