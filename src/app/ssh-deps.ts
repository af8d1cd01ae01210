import type { AppPaths } from '../core/paths.ts';
import { describeError } from '../core/errors.ts';
import type { Doctor, DoctorSettings, SavedRemote } from '../orchestrators/doctor/doctor.ts';
import type { SshService } from '../services/ssh/types.ts';
import type { App, AppEnvironment } from './create-app.ts';

/** The SSH service: one multiplexed OpenSSH connection per host, for every remote feature. */
export async function createSsh(environment: AppEnvironment, paths: AppPaths): Promise<SshService> {
  const { createSshManager } = await import('../services/ssh/manager.ts');
  return createSshManager({
    env: environment.env,
    stateDir: paths.stateDir,
    homeDir: paths.homeDir,
    interactive: environment.interactive,
    reporter: environment.reporter,
  });
}

/**
 * Doctor, with the project's remote.* and environment.gpus. A broken or
 * missing configuration must not stop doctor (it is what people run when
 * things are broken): it warns and checks with the defaults.
 */
export async function createDoctorOrchestrator(app: App): Promise<Doctor> {
  const { createDoctor } = await import('../orchestrators/doctor/doctor.ts');
  const { reporter } = app.environment;
  const { runInteractive } = await import('../infrastructure/process.ts');
  const { environment } = app;
  return createDoctor({
    ssh: () => app.ssh(),
    reporter,
    ...(environment.interactive ? { runOnTerminal: (command: string, args: readonly string[]) => runInteractive(command, args, { env: environment.env }) } : {}),
    loadSettings: async (): Promise<DoctorSettings> => {
      try {
        const { config } = await (await app.config()).load({ mode: 'redact' });
        return {
          remote: config.remote ?? {},
          gpus: config.environment.gpus,
          engine: config.environment.engine,
          ...(config.remote?.docker_socket ? { engineSocket: config.remote.docker_socket } : {}),
        };
      } catch (error) {
        reporter.warn(`the project configuration could not be loaded (${describeError(error)}); checking with the defaults`);
        return { remote: {}, gpus: 'optional' };
      }
    },
    lookupRemote: async (alias): Promise<SavedRemote | undefined> => {
      try {
        return (await app.state()).getRemote(alias);
      } catch (error) {
        reporter.debug(`saved remotes unavailable: ${describeError(error)}`);
        return undefined;
      }
    },
  });
}
