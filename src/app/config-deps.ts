import type { AppPaths } from '../core/paths.ts';
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
    // Plugins enabled in `plugins:` add their sections, validated with the rest.
    describeFeatures: async (loaded) => {
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
