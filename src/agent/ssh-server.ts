import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import type { Connection, PseudoTtyInfo, ServerChannel } from 'ssh2';
import { UserError } from '../core/errors.ts';
import type { ContainerManager, ExecSession, MountPoint } from '../services/containers/types.ts';
import { locate, requireRunning, SHELL_SCRIPT, type AgentContext, type AgentOutcome } from './commands.ts';
import { canOpenAgentChannels, forwardAgent, type ForwardedAgent } from './agent-forward.ts';
import { loadSsh2, serveSftp } from './sftp.ts';

/**
 * `mlt ssh-server`: an SSH server on stdin/stdout whose far end is the dev
 * container — what an editor's Remote-SSH, scp, sftp and `ssh -L` reach
 * through the ProxyCommand connect writes. The outer ssh to the host has
 * authenticated the user already, so this server accepts the client it is
 * handed; it proves its identity with the container's own host key, which
 * connect pinned in mltoolbox's known_hosts.
 */

function stateDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'mltoolbox', 'host-keys');
}

/** The container's host key (made on first use, kept on the host, 0600): one per container. */
export async function containerHostKey(env: NodeJS.ProcessEnv, containerId: string): Promise<{ privateKey: string; publicKey: string }> {
  const dir = stateDir(env);
  const file = join(dir, containerId.slice(0, 64));
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  const { utils } = await loadSsh2();
  if (existing) {
    const parsed = utils.parseKey(existing);
    if (!(parsed instanceof Error)) {
      const key = Array.isArray(parsed) ? parsed[0]! : parsed;
      return { privateKey: existing, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')}` };
    }
  }
  const pair = utils.generateKeyPairSync('ed25519');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, pair.private, { mode: 0o600 });
  await rename(tmp, file);
  return { privateKey: pair.private, publicKey: pair.public.split(' ').slice(0, 2).join(' ') };
}

/** `mlt host-key`: the container's public host key, for connect to pin. */
export async function hostKey(ctx: AgentContext): Promise<AgentOutcome> {
  const { located } = await locate(ctx);
  const key = await containerHostKey(ctx.env, located.container.id);
  return { result: { container: located.container.name, publicKey: key.publicKey }, human: key.publicKey };
}

/** stdin + stdout as the one socket ssh2's server expects. */
function stdioSocket(ctx: AgentContext): Duplex {
  const socket = new Duplex({
    read() {
      ctx.stdin.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      ctx.stdout.write(chunk, callback);
    },
    final(callback) {
      ctx.stdout.end(callback);
    },
  });
  ctx.stdin.on('data', (data: Buffer) => {
    if (!socket.push(data)) ctx.stdin.pause();
  });
  ctx.stdin.on('end', () => socket.push(null));
  return Object.assign(socket, { remoteAddress: '127.0.0.1', remoteFamily: 'IPv4', remotePort: 0, setNoDelay() {}, setKeepAlive() {} });
}

/** A TCP port inside the container, relayed by whatever the image has: nc, bash's /dev/tcp or python3. */
export function relayScript(host: string, port: number): string[] {
  const target = `${host} ${port}`;
  return ['sh', '-c', [
    `if command -v nc >/dev/null 2>&1; then exec nc ${target}; fi`,
    `if command -v python3 >/dev/null 2>&1; then exec python3 -c 'import socket,sys,threading\ns=socket.create_connection((sys.argv[1],int(sys.argv[2])))\ndef up():\n  while True:\n    d=sys.stdin.buffer.read1(65536)\n    if not d: break\n    s.sendall(d)\n  s.shutdown(socket.SHUT_WR)\nthreading.Thread(target=up,daemon=True).start()\nwhile True:\n  d=s.recv(65536)\n  if not d: break\n  sys.stdout.buffer.write(d); sys.stdout.buffer.flush()' ${target}; fi`,
    `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/$0/$1; cat <&3 & cat >&3; wait' ${target}; fi`,
    'echo "mlt: the container has no nc, python3 or bash to reach a port" >&2; exit 127',
  ].join('\n')];
}

/** Connects an exec to a channel both ways; the channel gets the exit status and closes. */
function bridge(channel: ServerChannel, session: ExecSession, options: { exitStatus: boolean }): void {
  session.stdout.pipe(channel, { end: false });
  if (channel.stderr) session.stderr.pipe(channel.stderr, { end: false });
  channel.pipe(session.stdin!);
  // Keystrokes that arrive after the command exited (EPIPE) are dropped; the exit status still comes from done.
  session.stdin!.on('error', () => {});
  session.done.then(
    ({ exitCode }) => {
      if (options.exitStatus) channel.exit(exitCode);
      channel.end();
    },
    () => channel.close(),
  );
  channel.on('close', () => session.detach());
}

const HOST_PATTERN = /^[A-Za-z0-9.:_-]{1,253}$/;

/** Serves one SSH connection on stdio until the client goes. */
export async function sshServer(ctx: AgentContext): Promise<AgentOutcome> {
  const { located, containers } = await locate(ctx);
  requireRunning(located);
  const id = located.container.id;
  // Independent: asked at once (the client is waiting for the server's greeting).
  const [info, key, { Server }] = await Promise.all([containers.inspect(id), containerHostKey(ctx.env, id), loadSsh2()]);
  const workdir = info?.workdir || '/';
  const finished = new Promise<void>((resolve) => {
    const server = new Server({ hostKeys: [key.privateKey], ident: 'mltoolbox-mlt' }, (client: Connection) => {
      client.on('authentication', (auth) => auth.accept());
      client.on('error', () => resolve());
      // The ProxyCommand's ssh went (stdin ended): nothing more can reach this server.
      client.on('end', () => resolve());
      client.on('close', () => resolve());
      client.on('ready', () => {
        client.on('session', (acceptSession) => serveSession(acceptSession(), client, containers, id, workdir, info?.mounts ?? []));
        client.on('tcpip', (accept, reject, request) => {
          if (!HOST_PATTERN.test(request.destIP) || !Number.isInteger(request.destPort)) return reject();
          const channel = accept();
          containers.startExec(id, relayScript(request.destIP, request.destPort), { interactive: true })
            .then((session) => bridge(channel, session, { exitStatus: false }), () => channel.close());
        });
      });
    });
    server.injectSocket(stdioSocket(ctx) as never);
  });
  await finished;
  return { exitCode: 0 };
}

function serveSession(session: import('ssh2').Session, client: Connection, containers: ContainerManager, id: string, workdir: string, mounts: readonly MountPoint[]): void {
  let pty: PseudoTtyInfo | undefined;
  let running: ExecSession | undefined;
  /** `ssh -A`: the container-side socket, ready before the session's command starts. */
  let agent: Promise<ForwardedAgent | string> | undefined;
  const env: Record<string, string> = {};
  session.on('close', () => void agent?.then((a) => typeof a === 'object' && a.stop()));
  session.on('pty', (accept, _reject, info) => {
    pty = info;
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (running && pty) void running.resize({ columns: info.cols, rows: info.rows }).catch(() => {});
    accept?.();
  });
  session.on('env', (accept, reject, info) => {
    // The names a client may set are the ones OpenSSH's AcceptEnv usually allows, plus editors' own.
    if (/^(LANG|LC_[A-Z_]+|TERM|COLORTERM|VSCODE_[A-Z_]+|[A-Z][A-Z0-9_]*)$/.test(info.key)) {
      env[info.key] = info.val;
      accept?.();
    } else reject?.();
  });
  const start = async (argv: string[], channel: ServerChannel) => {
    const forwarded = await agent;
    if (typeof forwarded === 'string') channel.stderr.write(`mlt: agent forwarding is off for this session: ${forwarded}\n`);
    const agentEnv: Record<string, string> = typeof forwarded === 'object' ? { SSH_AUTH_SOCK: forwarded.socketPath } : {};
    containers.startExec(id, argv, {
      tty: pty !== undefined,
      interactive: true,
      workdir,
      env: { ...env, ...agentEnv, ...(pty ? { TERM: pty.term || 'xterm-256color' } : {}) },
      ...(pty ? { size: { columns: pty.cols || 80, rows: pty.rows || 24 } } : {}),
    }).then((exec) => {
      running = exec;
      bridge(channel, exec, { exitStatus: true });
    }, (error: unknown) => {
      channel.stderr.write(`mlt: ${error instanceof UserError ? `${error.message}\n${error.hint}` : String(error)}\n`);
      channel.exit(255);
      channel.end();
    });
  };
  session.on('shell', (accept) => void start(['sh', '-c', SHELL_SCRIPT], accept()));
  // An SSH exec request carries one command string, for the user's shell to read (that is the protocol, as with sshd).
  session.on('exec', (accept, _reject, info) => void start(['sh', '-c', info.command], accept()));
  session.on('subsystem', (_accept, reject) => reject?.());
  session.on('sftp', (accept) => void serveSftp(accept(), mounts, workdir));
  session.on('auth-agent', (accept, reject) => {
    if (agent || !canOpenAgentChannels(client)) return reject?.();
    accept?.();
    agent = forwardAgent(client, containers, id).catch((error: unknown) => `${error instanceof Error ? error.message : String(error)} (the container needs python3 for the socket)`);
  });
  session.on('x11', (_accept, reject) => reject?.());
}
