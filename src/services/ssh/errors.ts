import { UserError } from '../../core/errors.ts';
import { stderrTail } from '../../core/stderr-tail.ts';

export { stderrTail };

/** What the classifier needs to write a message and a hint the user can act on. */
export interface SshFailureContext {
  /** How the user named the host (`gpu-box`, `alice@10.0.0.5:2222`). */
  display: string;
  /** The port ssh used, when known (from `ssh -G`). */
  port?: number;
  /** A plain ssh command line reproducing the connection, e.g. `ssh -p 2222 gpu-box true`. */
  tryCommand: string;
  /** known_hosts file we pass to ssh, if any (for the ssh-keygen -R hint). */
  knownHostsFile?: string;
  /** How the host is keyed in known_hosts: `gpu-box` or `[10.0.0.5]:2222`. */
  knownHostsName: string;
  /** Seconds we let ssh wait for the connection. */
  connectTimeout: number;
}

/** ssh's own diagnostics (never the remote command's): the lines we recognise, in priority order. */
const RULES: readonly { pattern: RegExp; make: (line: string, ctx: SshFailureContext, stderr: string) => UserError }[] = [
  {
    pattern: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/,
    make: (_line, ctx, stderr) => {
      const suggested = /ssh-keygen -f ".*" -R ".*"/.exec(stderr)?.[0];
      const remove = suggested ?? `ssh-keygen${ctx.knownHostsFile ? ` -f "${ctx.knownHostsFile}"` : ''} -R "${ctx.knownHostsName}"`;
      return new UserError(
        'SSH_HOST_KEY_CHANGED',
        `the host key of ${ctx.display} has changed since it was first seen`,
        `this can mean a reinstalled host or an attack: confirm the new key with the host's owner, then remove the old one: ${remove}`,
      );
    },
  },
  {
    pattern: /Host key verification failed|No \S+ host key is known for/,
    make: (_line, ctx) =>
      new UserError(
        'SSH_HOST_KEY_UNKNOWN',
        `the host key of ${ctx.display} is not known, and your ssh config requires known keys (StrictHostKeyChecking yes)`,
        `connect once yourself to check and accept the key: ${ctx.tryCommand.replace(/ -o BatchMode=yes/, '')}`,
      ),
  },
  {
    pattern: /Permission denied \(|Too many authentication failures|no matching host key type|Authentication failed/,
    make: (line, ctx) =>
      new UserError(
        'SSH_AUTH_FAILED',
        `${ctx.display} refused our keys: ${stripPrefix(line)}`,
        `check which keys are offered (ssh-add -l; ${ctx.tryCommand.replace(/^ssh /, 'ssh -v ')}), load yours with ssh-add, or set remote.identity_file`,
      ),
  },
  {
    pattern: /Connection timed out|Operation timed out|timed out during banner exchange|Connection to .* timed out/,
    make: (_line, ctx) =>
      new UserError(
        'SSH_TIMEOUT',
        `${ctx.display} did not answer within ${ctx.connectTimeout} s`,
        `check the host is up and the network/VPN reaches it (${ctx.tryCommand}); on a slow link raise remote.connect_timeout`,
      ),
  },
  {
    pattern:
      /Connection refused|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known|nodename nor servname|Temporary failure in name resolution|Connection reset|Connection closed by|kex_exchange_identification|proxy dialog|ProxyCommand|stdio forwarding failed/,
    make: (line, ctx) => {
      const reason = stripPrefix(line).replace(/^connect to host \S+ port \d+: /, '');
      const dns = /resolve|not known|servname|name resolution/.test(line);
      return new UserError(
        'SSH_UNREACHABLE',
        `cannot reach ${ctx.display}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}${ctx.port && !dns ? ` (port ${ctx.port})` : ''}`,
        dns
          ? `check the name: it must be a host name or an alias in your ssh config (ssh -G ${ctx.knownHostsName.replace(/^\[|\]:\d+$/g, '')} shows what ssh resolves); try: ${ctx.tryCommand}`
          : `check the host is up and sshd listens on that port: ${ctx.tryCommand}`,
      );
    },
  },
];

function stripPrefix(line: string): string {
  return line
    .trim()
    .replace(/^ssh: /, '')
    .replace(/^[^\s:]+@[^\s:]+: /, '')
    .replace(/\.$/, '');
}

/**
 * Turns a failed ssh run into the error a user can act on, or undefined
 * when stderr holds none of ssh's own diagnostics (then the exit status
 * came from the remote command: `exit 255` is legal there). Remote
 * stderr may also carry noise from the user's shell start-up files, so we
 * match ssh's phrases anywhere rather than reading the last line.
 */
export function classifySshFailure(exitCode: number | null, stderr: string, ctx: SshFailureContext): UserError | undefined {
  if (exitCode !== 255) return undefined;
  const lines = stderr.split('\n');
  for (const rule of RULES) {
    const line = lines.find((l) => rule.pattern.test(l));
    if (line !== undefined) return rule.make(line, ctx, stderr);
  }
  return undefined;
}

export function sshNotInstalled(cause?: unknown): UserError {
  return new UserError(
    'SSH_NOT_INSTALLED',
    'the OpenSSH client (ssh) is not installed or not on PATH',
    'install it: sudo apt-get install openssh-client (Debian/Ubuntu), sudo dnf install openssh-clients (Fedora); macOS ships it',
    { cause },
  );
}

export function sshTimedOut(ctx: SshFailureContext, seconds: number, what: string): UserError {
  return new UserError(
    'SSH_TIMEOUT',
    `${what} on ${ctx.display} did not finish within ${seconds} s`,
    `check the host is responsive: ${ctx.tryCommand}`,
  );
}
