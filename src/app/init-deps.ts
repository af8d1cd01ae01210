import type { App } from './create-app.ts';
import type { InitOptions, InitResult } from '../orchestrators/init/init-project.ts';

/** `mltoolbox init`: what the command adds is the user's answers. */
export interface InitOrchestrator {
  init(options: Pick<InitOptions, 'force' | 'devcontainerName' | 'prompt'>): Promise<InitResult>;
}

export async function createInit(app: App): Promise<InitOrchestrator> {
  const { initProject } = await import('../orchestrators/init/init-project.ts');
  const { projectDir, interactive, reporter } = app.environment;
  return { init: (options) => initProject({ ...options, projectDir, interactive, reporter }) };
}
