/**
 * The `ray` command lines the plugin runs, built as argv so nothing is ever
 * re-parsed by a shell. Kept pure: the plugin decides where they run.
 */

export interface RayHeadOptions {
  /** GCS port workers join on. */
  port: number;
  dashboardPort: number;
  /** The container shares the host's network (environment.network_mode: host). */
  hostNetwork?: boolean;
}

export interface RayWorkerOptions {
  /** Address the worker's machine can reach the head on (host name or IP). */
  headAddress: string;
  port: number;
  /** Limits the worker to this many GPUs; Ray detects them when omitted. */
  numGpus?: number;
}

export const RAY_DEFAULTS = { port: 6379, dashboardPort: 8265 } as const;

/**
 * In a bridged container the dashboard listens on all of the container's
 * interfaces: the forward arrives on its network address, not its loopback.
 * Usage stats are off so a start never phones home or blocks on a prompt.
 */
export function rayHeadCommand(options: RayHeadOptions): string[] {
  return [
    'ray', 'start', '--head',
    `--port=${options.port}`,
    '--include-dashboard=true',
    // In a bridged container 0.0.0.0 is only the container's own interface (reached through a
    // port published on the host's 127.0.0.1). With host networking it would be every interface
    // of the GPU host, and the dashboard accepts jobs without authentication: loopback then.
    `--dashboard-host=${options.hostNetwork ? '127.0.0.1' : '0.0.0.0'}`,
    `--dashboard-port=${options.dashboardPort}`,
    '--disable-usage-stats',
  ];
}

export function rayWorkerCommand(options: RayWorkerOptions): string[] {
  return [
    'ray', 'start',
    `--address=${formatAddress(options.headAddress)}:${options.port}`,
    ...(options.numGpus === undefined ? [] : [`--num-gpus=${options.numGpus}`]),
    '--disable-usage-stats',
  ];
}

export function rayStopCommand(): string[] {
  return ['ray', 'stop'];
}

export function dashboardUrl(localPort: number): string {
  return `http://127.0.0.1:${localPort}`;
}

/** IPv6 literals need brackets before the port. */
function formatAddress(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
