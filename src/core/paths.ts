import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where mltoolbox keeps its files; every path can be moved by env for tests and odd setups. */
export interface AppPaths {
  /** `$XDG_CONFIG_HOME/mltoolbox` (user config.yaml, profiles). */
  configDir: string;
  /** `$XDG_STATE_HOME/mltoolbox` (encrypted secrets, logs). */
  stateDir: string;
  /** `$XDG_DATA_HOME/mltoolbox`, or MLTOOLBOX_DATA_DIR (the state database, state.db). */
  dataDir: string;
  /** `/etc/mltoolbox/config.yaml`, or MLTOOLBOX_SYSTEM_CONFIG. */
  systemConfigFile: string;
  homeDir: string;
  /** `$XDG_CACHE_HOME/mltoolbox`, or MLTOOLBOX_CACHE_DIR (downloaded Dev Container Features). */
  cacheDir: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv): AppPaths {
  const homeDir = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(homeDir, '.config');
  const stateHome = env.XDG_STATE_HOME || join(homeDir, '.local', 'state');
  const dataHome = env.XDG_DATA_HOME || join(homeDir, '.local', 'share');
  const cacheHome = env.XDG_CACHE_HOME || join(homeDir, '.cache');
  return {
    configDir: env.MLTOOLBOX_CONFIG_DIR || join(configHome, 'mltoolbox'),
    stateDir: env.MLTOOLBOX_STATE_DIR || join(stateHome, 'mltoolbox'),
    dataDir: env.MLTOOLBOX_DATA_DIR || join(dataHome, 'mltoolbox'),
    systemConfigFile: env.MLTOOLBOX_SYSTEM_CONFIG || '/etc/mltoolbox/config.yaml',
    homeDir,
    cacheDir: env.MLTOOLBOX_CACHE_DIR || join(cacheHome, 'mltoolbox'),
  };
}
