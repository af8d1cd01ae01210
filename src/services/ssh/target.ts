import { isIPv6 } from 'node:net';
import { UserError } from '../../core/errors.ts';
import { printableName } from '../../core/terminal-text.ts';

/**
 * The one target model. Every command that reaches a host (connect and the
 * project commands, doctor, remote add, fetch, datasync, migrate's state
 * import — and next the agent and provisioning) reads what the user typed with
 * `parseTarget` and turns a name into a target with `resolveTarget`, so a host
 * is validated once, by one set of rules, with one error code
 * (`REMOTE_TARGET_INVALID`), and `remote.user` / `remote.port` mean the same
 * thing everywhere. `test/unit/architecture.test.ts` refuses a second parser.
 */

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
  /**
   * A provisioned instance's host key, pinned in mltoolbox's own known_hosts
   * under a name of its own (cloud IPs are reused by other machines):
   * learned on first contact (accept-new), required to match after (yes).
   */
  hostKey?: PinnedHostKey;
}

export interface PinnedHostKey {
  /** ssh HostKeyAlias: the name the key is stored under. */
  alias: string;
  knownHostsFile: string;
  /** True only while provision waits for the first SSH answer. */
  firstContact?: boolean;
}

/** Defaults for what the target text does not say; an explicit user or port in the text wins. */
export interface SshTargetDefaults {
  user?: string;
  port?: number;
  identityFile?: string;
  connectTimeout?: number;
  sshConfigFile?: string;
}

/** The configuration's `remote` section, as written in mltoolbox.yaml. */
export interface RemoteSettings {
  host?: string;
  user?: string;
  port?: number;
  identity_file?: string;
  connect_timeout?: number;
  ssh_config?: string;
}

/** A saved remote (`mltoolbox remote add`): the row from the state store. */
export interface SavedRemote {
  host: string;
  user?: string | null;
  port?: number | null;
  identityFile?: string | null;
}

const TARGET_FORMS = "an ssh config alias, [user@]host[:port], ssh://user@host:port or [::1]:22";
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.%+-]*$/; // hostnames and aliases; never a leading '-' (ssh would read an option)
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function usage(input: string, problem: string): UserError {
  // Escaped: a newline in the input must not print as a line of its own.
  return new UserError('REMOTE_TARGET_INVALID', `invalid host '${printableName(input)}': ${problem}`, `write the host as ${TARGET_FORMS}`);
}

/** A login name (`--user`, a saved remote's user): what parseTarget accepts before the '@'. */
export function parseUser(text: string): string {
  if (!USER.test(text)) {
    throw new UserError('REMOTE_TARGET_INVALID', `'${text}' is not a valid user name`, 'use the login name on the host, e.g. --user alice');
  }
  return text;
}

/** A port number as typed (`--port 2222`). */
export function parsePortNumber(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new UserError('REMOTE_TARGET_INVALID', `'${text}' is not a valid port`, 'give a number from 1 to 65535, e.g. --port 2222');
  }
  return port;
}

/** The short name of a saved remote; it becomes a `Host` line in the generated ssh_config. */
export function validateAlias(alias: string): string {
  if (!ALIAS.test(alias)) {
    throw new UserError('REMOTE_ALIAS_INVALID', `'${alias}' is not a valid remote alias`,
      'use letters, digits, -, _ and . (starting with a letter or digit, at most 64 characters), e.g. gpu-box');
  }
  return alias;
}

/**
 * An identity file path as it will be written into the generated ssh_config:
 * one line, and no `"` (ssh_config cannot escape a quote inside a quoted
 * value) nor `${` (ssh would expand it as an environment variable).
 * A newline here would become a directive of its own (ProxyCommand …).
 */
export function validateIdentityFile(path: string): string {
  const bad = /[\u0000-\u001f\u007f"]|\$\{/.exec(path);
  if (path === '' || bad) {
    const what = path === '' ? 'it is empty' : bad![0] === '"' ? 'it contains a double quote' : bad![0] === '${' ? "it contains '${'" : 'it contains a control character (a newline?)';
    throw new UserError('REMOTE_TARGET_INVALID', `the identity file path ${JSON.stringify(path)} cannot be used: ${what}`,
      'rename the key file (or link it) to a path without quotes or control characters, e.g. ~/.ssh/id_gpu, and pass that to -i');
  }
  return path;
}

/**
 * What a name on the command line (or `remote.host`, or the project's last
 * target) means, the same for every command:
 * - a saved remote of that name: its host, user, port and key;
 * - else the text itself, read by `parseTarget`;
 * - `remote.user` and `remote.port` are defaults for `remote.host` only (a
 *   different host named on the command line is not theirs);
 * - `remote.identity_file`, `remote.connect_timeout` and `remote.ssh_config`
 *   apply to every target (a saved remote's own key wins).
 */
export function resolveTarget(name: string, remote: RemoteSettings = {}, saved?: SavedRemote): SshTarget {
  const always: SshTargetDefaults = {
    identityFile: saved?.identityFile ?? remote.identity_file,
    connectTimeout: remote.connect_timeout,
    sshConfigFile: remote.ssh_config,
  };
  if (saved) return parseTarget(saved.host, { ...always, user: saved.user ?? undefined, port: saved.port ?? undefined });
  const isConfiguredHost = remote.host !== undefined && name.trim() === remote.host.trim();
  return parseTarget(name, isConfiguredHost ? { ...always, user: remote.user, port: remote.port } : always);
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
  } else if (rest.includes(':') && isIPv6(rest)) { // (node's IPv6 pattern costs ~5 ms to compile: only for a candidate)
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
  if (target.hostKey !== undefined) out.hostKey = target.hostKey;
  return out;
}
