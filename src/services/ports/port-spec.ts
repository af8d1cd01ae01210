import { UserError } from '../../core/errors.ts';

/**
 * The one port vocabulary. A `PortMapping` is what a user asks for, in
 * `environment.ports` or with `-p`: a container port, the local port to reach
 * it on, and the protocol. The container plan publishes it on the engine
 * host's loopback (`services/containers` PortSpec: container, host, protocol —
 * Docker's own words), and the forwarder brings TCP ports to this machine.
 */
export type PortProtocol = 'tcp' | 'udp';

export interface PortMapping {
  /** The port on this machine (the forward's listening side, or the published port on a local engine). */
  local: number;
  /** The port inside the container. */
  container: number;
  protocol: PortProtocol;
}

/**
 * The syntax of a mapping: `8888`, `9000:8888`, `127.0.0.1:9000:8888`, each
 * optionally with `/tcp` or `/udp`. The config schema validates with it;
 * parsePortMapping reads with it.
 */
export const PORT_MAPPING = /^(?:(?:\d{1,3}\.){3}\d{1,3}:)?\d{1,5}(?::\d{1,5})?(?:\/(?:tcp|udp))?$/;

const FORMS = 'write PORT, LOCAL:CONTAINER or 127.0.0.1:LOCAL:CONTAINER, optionally with /udp, e.g. -p 8888, -p 9000:8888 or -p 5353:5353/udp';

function toPort(text: string, whole: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new UserError('USAGE', `'${whole}' is not a port mapping: ${text} is not a port from 1 to 65535`, FORMS);
  }
  return port;
}

/**
 * Reads `-p` values and `environment.ports` entries (a number from YAML, or a
 * string). An address, when given, must be loopback: forwards and published
 * ports listen on 127.0.0.1 only.
 */
export function parsePortMapping(value: string | number): PortMapping {
  const whole = String(value).trim();
  const [ports = '', suffix, ...extra] = whole.split('/');
  if (extra.length > 0 || (suffix !== undefined && suffix !== 'tcp' && suffix !== 'udp')) {
    throw new UserError('USAGE', `'${whole}' is not a port mapping: the protocol is tcp or udp`, FORMS);
  }
  const protocol: PortProtocol = suffix === 'udp' ? 'udp' : 'tcp';
  const parts = ports.split(':');
  if (parts.length === 3) {
    const address = parts[0]!;
    if (address !== '127.0.0.1' && address !== 'localhost') {
      throw new UserError('USAGE', `'${whole}' would listen on ${address}`, 'forwards listen on 127.0.0.1 only; drop the address: -p LOCAL:CONTAINER');
    }
    parts.shift();
  }
  if (parts.length > 2) throw new UserError('USAGE', `'${whole}' is not a port mapping`, FORMS);
  const container = toPort(parts[parts.length - 1]!, whole);
  const local = parts.length === 2 ? toPort(parts[0]!, whole) : container;
  return { local, container, protocol };
}

/** `9000:8888`, `5353:5353/udp`: the mapping as a user writes it. */
export function formatPortMapping(mapping: PortMapping): string {
  return `${mapping.local}:${mapping.container}${mapping.protocol === 'udp' ? '/udp' : ''}`;
}

/** Later lists win for the same container port and protocol (flags override config). */
export function mergePortMappings(...lists: readonly (readonly PortMapping[])[]): PortMapping[] {
  const byContainer = new Map<string, PortMapping>();
  for (const list of lists) for (const mapping of list) byContainer.set(`${mapping.container}/${mapping.protocol}`, mapping);
  return [...byContainer.values()];
}
