import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { buildFilterRules, resolveRules, type FilterRule } from './filters.ts';
import type { PushRequest } from './types.ts';

/** The local project folder, absolute; SYNC_PATH_NOT_FOUND when it is not a folder. */
export function existingFolder(path: string): string {
  const absolute = resolve(path);
  let isFolder = false;
  try {
    isFolder = statSync(absolute).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder) throw new UserError('SYNC_PATH_NOT_FOUND', `the folder to sync does not exist: ${absolute}`, 'run from the project folder, or pass -C DIR', { data: { path: absolute } });
  return absolute;
}

/** A push's filter list for this folder: the config's rules, the root .dockerignore, every .gitignore. */
export function loadFilters(localDir: string, request: Pick<PushRequest, 'rules'>): FilterRule[] {
  const rules = resolveRules(request.rules);
  let dockerignore: string | undefined;
  if (rules.respectDockerignore) {
    try {
      dockerignore = readFileSync(join(localDir, '.dockerignore'), 'utf8');
    } catch {
      // none
    }
  }
  return buildFilterRules(rules, dockerignore);
}
