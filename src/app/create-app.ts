import { resolvePaths, type AppPaths } from '../core/paths.ts';
import type { Reporter } from '../core/reporter.ts';
import { lazy } from '../core/lazy.ts';
import type { SecretStore } from '../services/secrets/types.ts';
import type { StateStore } from '../db/index.ts';
import type { ConfigOrchestrator } from '../orchestrators/config/config-orchestrator.ts';
import type { SshService } from '../services/ssh/types.ts';
import type { Doctor } from '../orchestrators/doctor/doctor.ts';
import type { ConnectionOrchestrator } from '../orchestrators/connection/connection-orchestrator.ts';
import type { MigrateOrchestrator } from '../orchestrators/migrate/index.ts';
import type { PluginHostService } from '../orchestrators/plugins/plugin-host.ts';
import type { DataSyncOrchestrator } from '../orchestrators/datasync/datasync-orchestrator.ts';
import type { RemotesOrchestrator } from '../orchestrators/remotes/index.ts';
import type { InitOrchestrator } from './init-deps.ts';
import type { PluginCommands } from './plugins-deps.ts';
import type { ProvisioningOrchestrator } from '../orchestrators/provisioning/provisioning-orchestrator.ts';
import type { RelayService } from './relay-deps.ts';
import type { ImagesOrchestrator } from '../orchestrators/images/images-orchestrator.ts';

/**
 * The one place where mltoolbox is wired together. Every service and
 * orchestrator is created here, lazily (`lazy()` + dynamic import), and
 * receives what it needs as arguments — no module-level singletons, so tests
 * build an App with their own env, paths and fakes.
 *
 * To add a service: write it behind an interface in src/services/<area>/,
 * add an area file here (`<area>-deps.ts`) that imports it dynamically, and
 * expose one getter on App.
 */
export interface AppEnvironment {
  env: NodeJS.ProcessEnv;
  /** The project folder (-C/--project-dir, else the working directory). */
  projectDir: string;
  reporter: Reporter;
  /** May we prompt? False under CI, with no TTY, or with --json. */
  interactive: boolean;
  /** Asks for a line without echoing it (passphrases); the CLI provides it. */
  askHidden?: (question: string) => Promise<string>;
  /** The command running (`connect`, `config show`), for plugins' hooks. */
  command?: string;
  /** The shell's working folder (relative paths the user typed); default process.cwd(). */
  cwd?: string;
}

export interface App {
  readonly environment: AppEnvironment;
  readonly paths: AppPaths;
  secretStore(): Promise<SecretStore>;
  config(): Promise<ConfigOrchestrator>;
  /** The state database (saved remotes, projects, containers, forwards); opened and migrated on first use. */
  state(): Promise<StateStore>;
  /** The SSH service (one shared OpenSSH connection per host). */
  ssh(): Promise<SshService>;
  doctor(): Promise<Doctor>;
  /** connect and the project commands (sync, fetch, exec, shell, logs, status, stop, down). */
  connection(): Promise<ConnectionOrchestrator>;
  /** `mltoolbox migrate`: v2 project files and v2 state. */
  migrate(): Promise<MigrateOrchestrator>;
  /** The plugin host: loads the plugins mltoolbox.yaml enables and runs their hooks. */
  plugins(): Promise<PluginHostService>;
  /** `datasync up|down`: data folders to and from rclone remotes. */
  dataSync(): Promise<DataSyncOrchestrator>;
  /** `remote add|list|remove`: saved remotes and the generated ssh_config. */
  remotes(): Promise<RemotesOrchestrator>;
  /** `mltoolbox init`: writes mltoolbox.yaml from what the project has. */
  init(): Promise<InitOrchestrator>;
  /** `plugins run`: a plugin's command, with the project's container and host when connected. */
  pluginCommands(): Promise<PluginCommands>;
  /** `backend`, `search`, `provision`, `instances`: GPU clouds (Lambda, Shadeform, RunPod). */
  provisioning(): Promise<ProvisioningOrchestrator>;
  /** The relay: its database (tokens, hosts), its server, and the CLI's relay settings and token. */
  relay(): Promise<RelayService>;
  /** `image bootstrap|push`: images made and moved without a registry. */
  images(): Promise<ImagesOrchestrator>;
}

export function createApp(environment: AppEnvironment): App {
  const paths = resolvePaths(environment.env);
  const app: App = {
    environment,
    paths,
    secretStore: lazy(() => import('./secrets-deps.ts').then((m) => m.createSecretStore(environment, paths))),
    config: lazy(() => import('./config-deps.ts').then((m) => m.createConfigOrchestrator(environment, paths, () => app.secretStore(), () => app.plugins()))),
    state: lazy(() => import('./state-deps.ts').then((m) => m.openAppStateStore(paths, environment))),
    ssh: lazy(() => import('./ssh-deps.ts').then((m) => m.createSsh(environment, paths))),
    doctor: lazy(() => import('./ssh-deps.ts').then((m) => m.createDoctorOrchestrator(app))),
    connection: lazy(() => import('./connection-deps.ts').then((m) => m.createConnection(app))),
    migrate: lazy(() => import('./migrate-deps.ts').then((m) => m.createMigrate(app))),
    plugins: lazy(() => import('./plugins-deps.ts').then((m) => m.createPlugins(app))),
    dataSync: lazy(() => import('./datasync-deps.ts').then((m) => m.createDataSync(app))),
    remotes: lazy(() => import('./remotes-deps.ts').then((m) => m.createRemotes(app))),
    init: lazy(() => import('./init-deps.ts').then((m) => m.createInit(app))),
    pluginCommands: lazy(() => import('./plugins-deps.ts').then((m) => m.createPluginCommands(app))),
    provisioning: lazy(() => import('./provisioning-deps.ts').then((m) => m.createProvisioning(app))),
    relay: lazy(() => import('./relay-deps.ts').then((m) => m.createRelay(app))),
    images: lazy(() => import('./images-deps.ts').then((m) => m.createImages(app))),
  };
  return app;
}
