import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { HarnessInfo } from './harness.ts';

export interface Sandbox {
  root: string;
  home: string;
  /** An empty project folder to run commands in. */
  projectDir: string;
  /** Environment for the mltoolbox binary: isolated HOME/XDG dirs and ssh files. */
  env: NodeJS.ProcessEnv;
  path(...parts: string[]): string;
}

const sandboxes: string[] = [];

/** `mlt-sbx-<harness folder name>-`: the folders whose containers a harness cleans up. */
export function sandboxPrefix(harness?: Pick<HarnessInfo, 'dir'>): string {
  return harness ? `mlt-sbx-${basename(harness.dir)}-` : 'mlt-sandbox-';
}
process.once('exit', () => {
  for (const dir of sandboxes) rmSync(dir, { recursive: true, force: true });
});

/**
 * A throwaway user: its own HOME, XDG config/state/cache dirs and project
 * folder, so nothing touches the real user's files. OpenSSH ignores $HOME
 * (it reads the passwd entry), so the harness's ssh config and known_hosts
 * are passed explicitly through MLTOOLBOX_SSH_CONFIG / MLTOOLBOX_KNOWN_HOSTS.
 */
export async function createSandbox(options: { harness?: HarnessInfo; env?: NodeJS.ProcessEnv } = {}): Promise<Sandbox> {
  // Named after the harness: stopping it removes only the containers of its own sandboxes,
  // never those of another test run sharing this machine's Docker.
  const root = await mkdtemp(join(tmpdir(), sandboxPrefix(options.harness)));
  sandboxes.push(root);
  const dirs = { home: join(root, 'home'), config: join(root, 'config'), state: join(root, 'state'), cache: join(root, 'cache'), project: join(root, 'project') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_STATE_HOME: dirs.state,
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CACHE_HOME: dirs.cache,
    NO_COLOR: '1',
    // Masters the binary leaves behind for the next command go away soon after the tests.
    MLTOOLBOX_SSH_PERSIST: '30s',
    // Tests never pull: every image is the offline base image or built FROM it (network rule).
    MLTOOLBOX_NO_PULL: '1',
    // No system config from the machine running the tests.
    MLTOOLBOX_SYSTEM_CONFIG: join(root, 'etc-mltoolbox-config.yaml'),
    ...(options.harness
      ? {
          MLTOOLBOX_SSH_CONFIG: options.harness.ssh.sshConfigFile,
          MLTOOLBOX_KNOWN_HOSTS: options.harness.ssh.knownHostsFile,
          DOCKER_HOST: `unix://${options.harness.docker.socketPath}`,
        }
      : {}),
    ...options.env,
  };
  return { root, home: dirs.home, projectDir: dirs.project, env, path: (...parts) => join(root, ...parts) };
}
