import { pluginError, type ClusterInfo, type ConfigView, type PluginContainer, type PluginHost, type PortForwarder, type ProjectInfo } from '../../plugin-api/index.ts';
import type { ContainerManager, PublishedPort } from '../../services/containers/types.ts';
import { isLocalPortFree, nextFreeLocalPort } from '../../services/ports/local-ports.ts';
import type { SshTarget } from '../../services/ssh/target.ts';
import type { SshService } from '../../services/ssh/types.ts';
import type { HookScope } from './types.ts';

export interface ScopeInput {
  command: string;
  config: ConfigView;
  project: ProjectInfo;
  /** The targets of a multi-host connect. */
  cluster?: ClusterInfo;
  /** The engine of the project's place, once open. */
  containers?: ContainerManager;
  container?: { id: string; name: string; ports?: readonly PublishedPort[] };
  /** The SSH connection, for remote targets. */
  remote?: { ssh: SshService; target: SshTarget };
}

/**
 * What a hook may use at a step of a project command: the container (exec
 * through the engine API), the host (exec over the shared SSH connection) and
 * a port forwarder (the same `ssh -L` through the master connect uses).
 */
export function projectScope(input: ScopeInput): HookScope {
  const scope: HookScope = { command: input.command, config: input.config, project: input.project, ...(input.cluster ? { cluster: input.cluster } : {}) };
  const { containers, container, remote } = input;
  if (containers && container) scope.container = containerHandle(containers, container, input.project.workdir);
  if (remote) scope.host = hostHandle(input.project.target ?? remote.target.host, remote);
  if (container?.ports) scope.ports = forwarder(container.ports, remote);
  return scope;
}

function containerHandle(containers: ContainerManager, container: { id: string; name: string }, workdir: string): PluginContainer {
  return {
    id: container.id,
    name: container.name,
    exec: (argv, options = {}) =>
      containers.exec(container.id, argv, {
        workdir: options.workdir ?? workdir,
        ...(options.env ? { env: options.env } : {}),
        ...(options.user ? { user: options.user } : {}),
        ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      }),
  };
}

function hostHandle(name: string, remote: { ssh: SshService; target: SshTarget }): PluginHost {
  const { ssh, target } = remote;
  return {
    name,
    exec: async (argv, options = {}) => {
      const result = await ssh.exec(target, argv, { check: false, ...(options.input !== undefined ? { input: options.input } : {}) });
      return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
    },
    execScript: async (script, options = {}) => {
      const result = await ssh.execScript(target, script, {
        check: false,
        ...(options.args ? { args: options.args } : {}),
        ...(options.input !== undefined ? { input: options.input } : {}),
      });
      return { exitCode: result.code, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

function forwarder(published: readonly PublishedPort[], remote: { ssh: SshService; target: SshTarget } | undefined): PortForwarder {
  return {
    async forward(containerPort, options = {}) {
      const port = published.find((p) => p.container === containerPort && p.protocol === 'tcp');
      if (!port) {
        throw pluginError(`container port ${containerPort} is not published`,
          `add ${containerPort} to environment.ports in mltoolbox.yaml (a plugin can add it in its configLoaded hook), then run 'mltoolbox connect' again`);
      }
      if (!remote) {
        // Local engine: the published port already is on this machine.
        return { localPort: port.host, containerPort, close: async () => {} };
      }
      const wanted = options.localPort && options.localPort > 0 ? options.localPort : containerPort;
      const localPort = (await isLocalPortFree(wanted)) ? wanted : options.localPort ? undefined : await nextFreeLocalPort(wanted + 1);
      if (localPort === undefined) {
        throw pluginError(`local port ${wanted} is already in use`, `free port ${wanted} or ask for another local port`);
      }
      const forward = await remote.ssh.forward(remote.target, { local: { port: localPort }, remote: { port: port.host, host: '127.0.0.1' } });
      return { localPort: forward.localPort ?? localPort, containerPort, close: () => forward.close() };
    },
  };
}
