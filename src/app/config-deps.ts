import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppPaths } from '../core/paths.ts';
import { createConfigCache } from '../services/config/config-cache.ts';
import { toolVersion } from './connection-deps.ts';
import type { ConfigOrchestrator } from '../orchestrators/config/config-orchestrator.ts';
import type { SecretResolver } from '../services/config/interpolate.ts';
import type { ProjectConfigSource } from '../services/config/loader.ts';
import type { PluginHostService } from '../orchestrators/plugins/plugin-host.ts';
import type { AppEnvironment } from './create-app.ts';

/**
 * Wires the config orchestrator: the loader, the project detector (for
 * projects without mltoolbox.yaml) and the secret store, opened only when a
 * command needs real secret values.
 */
export async function createConfigOrchestrator(
  environment: AppEnvironment,
  paths: AppPaths,
  secrets: () => Promise<SecretResolver>,
  plugins?: () => Promise<PluginHostService>,
): Promise<ConfigOrchestrator> {
  const { createConfigOrchestrator: create } = await import('../orchestrators/config/config-orchestrator.ts');
  return create({
    projectDir: environment.projectDir,
    env: environment.env,
    paths,
    reporter: environment.reporter,
    projectSource: detectedProjectSource(environment),
    secrets,
    cache: createConfigCache({ dir: join(paths.cacheDir, 'config'), buildId: buildId(toolVersion(environment.env)), debug: (message) => environment.reporter.debug(message) }),
    // Plugins enabled in `plugins:` add their sections, validated with the rest.
    describeFeatures: async (loaded) => {
      // Most projects list none: then the features code does not load at all.
      const features = (loaded.config.environment as { features?: Record<string, unknown> }).features;
      if (!features || Object.keys(features).length === 0) return [];
      const [{ describeFeatures }, { createFeatures }] = await Promise.all([import('../orchestrators/features/features-step.ts'), import('./features-deps.ts')]);
      return describeFeatures(await createFeatures(environment, paths), loaded, environment.projectDir);
    },
    ...(plugins ? { pluginSections: async (config, context) => (await plugins()).configSections(config, context) } : {}),
  });
}

/** Adapts the detector (devcontainer.json, Dockerfile) to the loader's seam. */
function detectedProjectSource(environment: AppEnvironment): ProjectConfigSource {
  return async (projectDir, options) => {
    const { detectProjectConfigSource } = await import('../services/config/detect.ts');
    const source = await detectProjectConfigSource(projectDir, {
      interactive: false,
      env: options.env,
      ...(options.devcontainer ? { devcontainerName: options.devcontainer } : {}),
    });
    for (const note of source.notes) environment.reporter.debug(note);
    if (!source.layer) return undefined;
    return { layer: source.layer, description: source.description, warnings: source.warnings };
  };
}

/**
 * Which build of mltoolbox is running, for the config cache's key: the version,
 * and the size and time of the file this code was loaded from (every build
 * writes new files), so a rebuilt schema never reads an older build's entries.
 */
function buildId(version: string): string {
  const file = fileURLToPath(import.meta.url);
  try {
    const info = statSync(file);
    return `${version}:${file}:${info.size}:${info.mtimeMs}`;
  } catch {
    return `${version}:${file}`;
  }
}
