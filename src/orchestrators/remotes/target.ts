import { UserError } from '../../core/errors.ts';

/**
 * Validation of what `remote add` is given. Everything here may later reach
 * an ssh command line, so a value that ssh could read as an option (a
 * leading `-`) or that holds spaces or shell characters is refused.
 */
export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
}

const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/;
const EXAMPLE = "e.g. 'gpu-box', 'alice@gpu-box' or 'alice@10.0.0.5:2222'";

export function validateAlias(alias: string): string {
  if (!ALIAS.test(alias)) {
    throw new UserError('REMOTE_ALIAS_INVALID', `'${alias}' is not a valid remote alias`,
      'use letters, digits, -, _ and . (starting with a letter or digit, at most 64 characters), e.g. gpu-box');
  }
  return alias;
}

export function validateUser(user: string): string {
  if (!USER.test(user)) {
    throw new UserError('REMOTE_TARGET_INVALID', `'${user}' is not a valid user name`, 'use the login name on the host, e.g. --user alice');
  }
  return user;
}

export function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new UserError('REMOTE_TARGET_INVALID', `'${text}' is not a valid port`, 'give a number from 1 to 65535, e.g. --port 2222');
  }
  return port;
}

function invalidTarget(target: string, why: string): UserError {
  return new UserError('REMOTE_TARGET_INVALID', `'${target}' is not a valid target: ${why}`, `write it as [user@]host[:port], ${EXAMPLE}`);
}

/** `[user@]host[:port]`; IPv6 addresses as `[::1]` or `[::1]:2222`. */
export function parseTarget(target: string): SshTarget {
  const at = target.lastIndexOf('@');
  const user = at >= 0 ? target.slice(0, at) : undefined;
  const hostPort = target.slice(at + 1);
  if (user !== undefined && !USER.test(user)) throw invalidTarget(target, `'${user}' is not a valid user name`);

  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    const rest = close < 0 ? '' : hostPort.slice(close + 1);
    if (close < 0 || (rest !== '' && !rest.startsWith(':'))) throw invalidTarget(target, 'unbalanced [ ] around the address');
    host = hostPort.slice(1, close);
    if (!IPV6.test(host) || !host.includes(':')) throw invalidTarget(target, `'${host}' is not an IPv6 address`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else if (hostPort.split(':').length > 2) {
    host = hostPort; // a bare IPv6 address: no port can follow without brackets
    if (!IPV6.test(host)) throw invalidTarget(target, `'${host}' is not a valid host`);
  } else {
    [host, portText] = hostPort.split(':') as [string, string | undefined];
    if (!HOSTNAME.test(host)) throw invalidTarget(target, host === '' ? 'the host is missing' : `'${host}' is not a valid host name`);
  }
  return { host, ...(user !== undefined ? { user } : {}), ...(portText !== undefined ? { port: parsePort(portText) } : {}) };
}
