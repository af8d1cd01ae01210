import { readFileSync } from 'node:fs';
import { UserError, isUserError } from '../core/errors.ts';
import { parseAgentArgs, type AgentArgs } from './args.ts';
import type { AgentContext, AgentOutcome } from './commands.ts';
import type { AgentConfig } from './config.ts';
import { daemonCommand } from './daemon/command.ts';

declare const MLTOOLBOX_VERSION: string | undefined;

export const HELP = `mlt — the mltoolbox agent on a GPU host: reach the project's dev container

Usage: mlt [--project NAME] <command> [options]

Commands:
  shell                 A login shell in the container (zsh, bash or sh), with a real terminal
  run [--] CMD [ARG...] Run CMD in the container; arguments stay as typed, stdin is streamed,
                        the exit code is CMD's
  logs [-f] [--tail N]  The container's output (-f: follow)
  status [--json]       Container, image, uptime, CPU/memory and the host's GPUs
  ps [--json]           Every mltoolbox dev container on this host
  version [--json]      The agent's version and build
  ssh-server            (used by ssh's ProxyCommand) an SSH server on stdio for the container
  host-key [--json]     The container's SSH host key (connect pins it for the editor alias)
  lsp-proxy -- CMD...   A language server in the container, paths translated for a local editor
  serve [--help]        The fast channel mltoolbox uses on this host (started by connect)
  daemon [--help]       Connect this host to an mltoolbox relay (docs/relay.md)
  idle [--help]         Idle auto-stop of a provisioned instance (docs/provisioning.md)

Which container: the one whose project folder holds the current folder; else
--project NAME (a name or slug from 'mlt ps'); else 'project:' in agent.yaml;
else the only running one.

Options:
  -p, --project NAME    The project (name or slug)
      --json            One JSON envelope on stdout {ok, command, result, error}
  -f, --follow          logs: keep printing new output
  -n, --tail N          logs: only the last N lines
  -h, --help            Show this help
  -V, --version         Print the version

Configuration (optional, YAML): /etc/mltoolbox/agent.yaml, then ~/.config/mltoolbox/agent.yaml
  project: NAME         the default project
  shell: zsh            the shell 'mlt shell' starts
  docker_socket: PATH   the Docker Engine's socket (default: DOCKER_HOST, else /var/run/docker.sock)

Exit codes: run and shell pass the command's own; otherwise 0 ok, 1 no/unknown container,
2 usage or several containers to choose from, 3 bad agent.yaml, 4 Docker unreachable.`;

/** The version, and in the self-contained executable the build id stored with it (an asset of the SEA). */
export async function agentVersion(): Promise<{ version: string; build: string | undefined }> {
  const version = typeof MLTOOLBOX_VERSION === 'string'
    ? MLTOOLBOX_VERSION
    : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  let build: string | undefined;
  try {
    const sea = await import('node:sea');
    if (sea.isSea()) build = sea.getAsset('build-id', 'utf8').trim();
  } catch {
    // Not a single-executable application: no build id.
  }
  return { version, build };
}

function envelope(command: string, ok: boolean, result: unknown, error: UserError | null): string {
  const err = error && { code: error.code, message: error.message, hint: error.hint, ...(error.details.length ? { details: error.details } : {}) };
  return `${JSON.stringify({ ok, command, result: result ?? null, error: err }, null, 2)}\n`;
}

function renderError(error: UserError): string {
  return [`error: ${error.message} [${error.code}]`, ...error.details.map((d) => `  ${d}`), `hint: ${error.hint}`, ''].join('\n');
}

async function dispatch(args: AgentArgs, ctx: AgentContext): Promise<AgentOutcome> {
  const commands = await import('./commands.ts');
  switch (args.command) {
    case 'shell': return commands.shell(ctx);
    case 'run': return commands.run(ctx);
    case 'logs': return commands.logs(ctx);
    case 'status': return commands.status(ctx);
    case 'ps': return commands.ps(ctx);
    case 'version': return commands.version(ctx);
    case 'ssh-server': return (await import('./ssh-server.ts')).sshServer(ctx);
    case 'host-key': return (await import('./ssh-server.ts')).hostKey(ctx);
    case 'lsp-proxy': return (await import('./lsp-proxy.ts')).lspProxy(ctx);
    default: throw new UserError('UNKNOWN_COMMAND', `unknown command '${args.command}'`, "run 'mlt --help' for the commands this agent knows");
  }
}

/** Runs one `mlt` invocation and returns its exit code. */
export async function runAgent(argv: readonly string[], io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream; env: NodeJS.ProcessEnv; cwd: string }): Promise<number> {
  // The relay's daemon reads its own options (mlt daemon --help).
  if (argv[0] === 'daemon') {
    return daemonCommand(argv.slice(1), { env: io.env, out: (t) => io.stdout.write(t), err: (t) => io.stderr.write(t), version: (await agentVersion()).version });
  }
  // The fast channel reads its own options (mlt serve --help).
  if (argv[0] === 'serve') {
    return (await import('./serve.ts')).serveCommand(argv.slice(1), { env: io.env, out: (t) => io.stdout.write(t), err: (t) => io.stderr.write(t) });
  }
  // Idle auto-stop reads its own options (mlt idle --help).
  if (argv[0] === 'idle') {
    return (await import('./idle/watch.ts')).idleCommand(argv.slice(1), { env: io.env, out: (t) => io.stdout.write(t), err: (t) => io.stderr.write(t) });
  }
  let args: AgentArgs | undefined;
  try {
    args = parseAgentArgs(argv);
    if (args.help || args.command === 'help' || args.command === undefined) {
      io.stdout.write(`${HELP}\n`);
      return args.command === undefined && !args.help ? 2 : 0;
    }
    if (args.command === 'version' && !args.json) {
      const { versionString } = await import('./commands.ts');
      io.stdout.write(`${versionString(await agentVersion())}\n`);
      return 0;
    }
    const ctx: AgentContext = {
      args, env: io.env, cwd: io.cwd, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr,
      version: await agentVersion(),
      containers: async (config: AgentConfig) => {
        const { createDockerContainerManager } = await import('../services/containers/index.ts');
        const fromEnv = io.env.DOCKER_HOST?.startsWith('unix://') ? io.env.DOCKER_HOST.slice('unix://'.length) : undefined;
        return createDockerContainerManager({ socketPath: config.dockerSocket ?? fromEnv ?? '/var/run/docker.sock', toolVersion: ctx.version.version });
      },
    };
    const outcome = await dispatch(args, ctx);
    if (args.json) io.stdout.write(envelope(args.command, true, outcome.result, null));
    else if (outcome.human !== undefined) io.stdout.write(`${outcome.human}\n`);
    return outcome.exitCode ?? 0;
  } catch (error) {
    if (!isUserError(error)) {
      io.stderr.write(`internal error: this is a bug in mlt, not something you did.\n${error instanceof Error ? error.stack : String(error)}\n`);
      return 70;
    }
    if (args?.json) io.stdout.write(envelope(args.command ?? 'mlt', false, null, error));
    io.stderr.write(renderError(error));
    return error.exitCode;
  }
}

export function main(): void {
  runAgent(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(70);
    },
  );
}
