import { pluginError, type ClusterInfo, type ConfigView, type PluginContainer, type PluginHost, type PortForwarder, type ProjectInfo } from '../../plugin-api/index.ts';
import type { ContainerManager, PublishedPort } from '../../services/containers/types.ts';
import { UserError } from '../../core/errors.ts';
import type { Host } from '../../services/host/types.ts';
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
  /** The machine the engine runs on; plugins get it as `host` when it is not this machine. */
  host?: Host;
}

/**
 * What a hook may use at a step of a project command: the container (exec
 * through the engine API), the host (exec over the shared SSH connection) and
 * a port forwarder (the same `ssh -L` through the master connect uses).
 */
export function projectScope(input: ScopeInput): HookScope {
  const scope: HookScope = { command: input.command, config: input.config, project: input.project, ...(input.cluster ? { cluster: input.cluster } : {}) };
  const { containers, container, host } = input;
  if (containers && container) scope.container = containerHandle(containers, container, input.project.workdir);
  if (host && !host.local) scope.host = hostHandle(input.project.target ?? host.name, host);
  if (container?.ports && host) scope.ports = forwarder(container.ports, host);
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

function hostHandle(name: string, host: Host): PluginHost {
  return {
    name,
    exec: (argv, options = {}) => host.exec(argv, options.input !== undefined ? { input: options.input } : {}),
    execScript: (script, options = {}) =>
      host.execScript(script, { ...(options.args ? { args: options.args } : {}), ...(options.input !== undefined ? { input: options.input } : {}) }),
  };
}

function forwarder(published: readonly PublishedPort[], host: Host): PortForwarder {
  return {
    async forward(containerPort, options = {}) {
      const port = published.find((p) => p.container === containerPort && p.protocol === 'tcp');
      if (!port) {
        throw pluginError(`container port ${containerPort} is not published`,
          `add ${containerPort} to environment.ports in mltoolbox.yaml (a plugin can add it in its configLoaded hook), then run 'mltoolbox connect' again`);
      }
      // A port the plugin names must be that one; otherwise the container's number, or the next free one.
      const asked = options.localPort !== undefined && options.localPort > 0;
      const forward = await host.forwardPort(port.host, { localPort: asked ? options.localPort! : containerPort, containerPort, ifBusy: asked ? 'fail' : 'next-free' })
        .catch((error: unknown) => {
          throw error instanceof UserError && error.code === 'PORT_BUSY' ? pluginError(error.message, error.hint) : error;
        });
      return { localPort: forward!.localPort, containerPort, close: () => forward!.close() };
    },
  };
}
