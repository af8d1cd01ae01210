import { isIPv6 } from 'node:net';
import { UserError } from '../../core/errors.ts';

/**
 * A host we reach over ssh, plus the per-host settings from mltoolbox.yaml
 * (`remote.*`). Whatever ssh itself knows about the host (~/.ssh/config:
 * HostName, ProxyJump, keys) stays with ssh: we only add what was given.
 */
export interface SshTarget {
  /** An ssh_config alias, a hostname or an IP address (IPv6 without brackets). */
  host: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** Seconds (ssh ConnectTimeout). */
  connectTimeout?: number;
  /** remote.ssh_config: an ssh_config file used instead of ~/.ssh/config (MLTOOLBOX_SSH_CONFIG wins). */
  sshConfigFile?: string;
}

/** `remote.*` defaults; an explicit user or port in the target text wins over them. */
export interface SshTargetDefaults {
  user?: string;
  port?: number;
  identityFile?: string;
  connectTimeout?: number;
  sshConfigFile?: string;
}

const TARGET_FORMS = "an ssh config alias, [user@]host[:port], ssh://user@host:port or [::1]:22";
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.%+-]*$/; // hostnames and aliases; never a leading '-' (ssh would read an option)
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;

function usage(input: string, problem: string): UserError {
  return new UserError('USAGE', `invalid host '${input}': ${problem}`, `write the host as ${TARGET_FORMS}`);
}

/**
 * Reads what a user types for a host:
 * `gpu-box`, `alice@gpu-box`, `alice@10.0.0.5:2222`, `ssh://alice@gpu-box:2222`,
 * `[::1]:2222`, `alice@[fe80::1]`, `::1`.
 */
export function parseTarget(input: string, defaults: SshTargetDefaults = {}): SshTarget {
  const text = input.trim();
  if (text === '') throw usage(input, 'it is empty');
  if (/\s/.test(text)) throw usage(input, 'it contains whitespace');

  let rest = text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    if (!rest.toLowerCase().startsWith('ssh://')) throw usage(input, `only ssh:// URLs are supported`);
    rest = rest.slice('ssh://'.length).replace(/\/$/, '');
    if (rest.includes('/')) throw usage(input, 'an ssh:// URL here names a host only, not a path');
  }

  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = decodeURIComponentSafe(rest.slice(0, at));
    rest = rest.slice(at + 1);
    if (!user || !USER.test(user)) throw usage(input, `'${user}' is not a valid user name`);
  }

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw usage(input, "a '[' without the closing ']'");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw usage(input, `unexpected '${after}' after ']'`);
      portText = after.slice(1);
    }
    if (!isIPv6(host) && !NAME.test(host)) throw usage(input, `'${host}' is not an IPv6 address`);
  } else if (isIPv6(rest)) {
    host = rest; // bare IPv6: its colons are not a port separator
  } else {
    const colon = rest.indexOf(':');
    if (colon !== -1 && rest.indexOf(':', colon + 1) !== -1) throw usage(input, 'put an IPv6 address in brackets: [::1]:22');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
    if (!host) throw usage(input, 'the host name is missing');
    if (!NAME.test(host)) throw usage(input, `'${host}' is not a valid host name`);
  }

  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw usage(input, `'${portText}' is not a port number (1-65535)`);
    }
    port = Number(portText);
  }

  return compact({
    host,
    user: user ?? defaults.user,
    port: port ?? defaults.port,
    identityFile: defaults.identityFile,
    connectTimeout: defaults.connectTimeout,
    sshConfigFile: defaults.sshConfigFile,
  });
}

/** The target as a user would write it: `alice@gpu-box:2222`, `[::1]:22`. */
export function formatTarget(target: Pick<SshTarget, 'host' | 'user' | 'port'>): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const userPart = target.user ? `${target.user}@` : '';
  if (target.port === undefined) return `${userPart}${target.host.includes(':') ? target.host : host}`;
  return `${userPart}${host}:${target.port}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function compact(target: SshTarget): SshTarget {
  const out: SshTarget = { host: target.host };
  if (target.user !== undefined) out.user = target.user;
  if (target.port !== undefined) out.port = target.port;
  if (target.identityFile !== undefined) out.identityFile = target.identityFile;
  if (target.connectTimeout !== undefined) out.connectTimeout = target.connectTimeout;
  if (target.sshConfigFile !== undefined) out.sshConfigFile = target.sshConfigFile;
  return out;
}
