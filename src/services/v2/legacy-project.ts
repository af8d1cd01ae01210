import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';

/**
 * The files mltoolbox v2 `init` wrote into a project. v2.1 keeps the
 * Dockerfile and docker-compose.yml under `.mlt/`; older projects have them
 * in the project root. The `.env` is always in the root.
 */
export type LegacyLayout = 'mlt' | 'root';

export interface LegacyFile {
  /** Project-relative, with `/`: `.mlt/docker-compose.yml`. */
  path: string;
  text: string;
}

export interface LegacyProject {
  projectDir: string;
  layout: LegacyLayout;
  /** The folder compose resolved relative paths against: `.mlt` or `.` (project-relative). */
  composeDir: string;
  compose: LegacyFile;
  env?: LegacyFile;
  dockerfile?: LegacyFile;
}

const COMPOSE_NAMES = ['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml'];

async function readOptional(projectDir: string, path: string): Promise<LegacyFile | undefined> {
  try {
    return { path, text: await readFile(join(projectDir, path), 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw new UserError('MIGRATE_LEGACY_INVALID', `cannot read ${path}: ${(error as Error).message}`,
      `check the file's permissions (ls -l ${path})`, { cause: error, data: { file: path } });
  }
}

async function findCompose(projectDir: string, folder: string): Promise<LegacyFile | undefined> {
  for (const name of COMPOSE_NAMES) {
    const file = await readOptional(projectDir, folder === '.' ? name : `${folder}/${name}`);
    if (file) return file;
  }
  return undefined;
}

/** The v2 files of a project (reads only), or undefined when it has no docker-compose file from v2. */
export async function findLegacyProject(projectDir: string): Promise<LegacyProject | undefined> {
  const env = await readOptional(projectDir, '.env');
  for (const [layout, folder] of [['mlt', '.mlt'], ['root', '.']] as const) {
    const compose = await findCompose(projectDir, folder);
    if (!compose) continue;
    const dockerfile = await readOptional(projectDir, folder === '.' ? 'Dockerfile' : `${folder}/Dockerfile`);
    return { projectDir, layout, composeDir: folder, compose, ...(env ? { env } : {}), ...(dockerfile ? { dockerfile } : {}) };
  }
  return undefined;
}
