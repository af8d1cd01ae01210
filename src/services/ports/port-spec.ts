import { UserError } from '../../core/errors.ts';

/** A forward from a port on this machine to a port in the container. */
export interface PortSpec {
  local: number;
  remote: number;
}

function toPort(text: string, whole: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new UserError('USAGE', `'${whole}' is not a port forward`, 'write LOCAL:REMOTE or PORT with ports 1-65535, e.g. -p 8888:8888 or -p 6006');
  }
  return port;
}

/**
 * Parses `-p` values and config `ports` entries: `8888`, `8888:8888`,
 * `127.0.0.1:8888:8888` (the address must be loopback: we never listen on
 * other interfaces), or a number from YAML.
 */
export function parsePortSpec(value: string | number): PortSpec {
  if (typeof value === 'number') {
    const port = toPort(String(value), String(value));
    return { local: port, remote: port };
  }
  const parts = value.trim().split(':');
  if (parts.length === 3) {
    const [address, local, remote] = parts as [string, string, string];
    if (address !== '127.0.0.1' && address !== 'localhost') {
      throw new UserError('USAGE', `'${value}' would listen on ${address}`, 'forwards listen on 127.0.0.1 only; drop the address: -p LOCAL:REMOTE');
    }
    return { local: toPort(local, value), remote: toPort(remote, value) };
  }
  if (parts.length === 2) return { local: toPort(parts[0]!, value), remote: toPort(parts[1]!, value) };
  if (parts.length === 1) {
    const port = toPort(parts[0]!, value);
    return { local: port, remote: port };
  }
  throw new UserError('USAGE', `'${value}' is not a port forward`, 'write LOCAL:REMOTE or PORT, e.g. -p 8888:8888');
}

/** Later specs for the same container port win (flags override config). */
export function mergePortSpecs(...lists: readonly PortSpec[][]): PortSpec[] {
  const byRemote = new Map<number, PortSpec>();
  for (const list of lists) for (const spec of list) byRemote.set(spec.remote, spec);
  return [...byRemote.values()];
}
