import { join } from 'node:path';
import type { AppPaths } from '../core/paths.ts';
import type { FeaturesService } from '../services/features/index.ts';
import type { AppEnvironment } from './create-app.ts';

/** The Dev Container Features service: features are cached under the user's cache folder. */
export async function createFeatures(environment: AppEnvironment, paths: AppPaths): Promise<FeaturesService> {
  const [{ createFeaturesService }, { runProcess }] = await Promise.all([import('../services/features/index.ts'), import('../infrastructure/process.ts')]);
  return createFeaturesService({ env: environment.env, homeDir: paths.homeDir, cacheDir: join(paths.cacheDir, 'features'), runProcess, reporter: environment.reporter });
}
