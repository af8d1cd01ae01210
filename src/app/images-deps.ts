import type { BootstrapDeps } from '../services/images/bootstrap-builder.ts';
import type { ImagesOrchestrator } from '../orchestrators/images/images-orchestrator.ts';
import type { App, AppEnvironment } from './create-app.ts';
import { toolVersion } from './connection-deps.ts';

/** How debootstrap runs: our process runner, and sudo's password prompt on the terminal when we may prompt. */
export async function bootstrapDeps(environment: AppEnvironment): Promise<BootstrapDeps> {
  const { runProcess, runInteractive } = await import('../infrastructure/process.ts');
  return {
    run: runProcess,
    env: environment.env,
    ...(environment.interactive ? { runOnTerminal: (command: string, args: readonly string[]) => runInteractive(command, args, { env: environment.env }) } : {}),
  };
}

export async function createImages(app: App): Promise<ImagesOrchestrator> {
  const [{ createImagesOrchestrator }, { createDockerContainerManager }, { localDockerSocket }] = await Promise.all([
    import('../orchestrators/images/images-orchestrator.ts'),
    import('../services/containers/index.ts'),
    import('../orchestrators/connection/place.ts'),
  ]);
  const { environment } = app;
  return createImagesOrchestrator({
    reporter: environment.reporter,
    localContainers: () => createDockerContainerManager({ socketPath: localDockerSocket(environment.env), toolVersion: toolVersion(environment.env), reporter: environment.reporter }),
    bootstrap: await bootstrapDeps(environment),
  });
}
