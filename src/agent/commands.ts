import { arch, homedir } from 'node:os';
import { UserError } from '../core/errors.ts';
import { shortDuration } from '../core/duration.ts';
import { describeGpuStatus, gpuStatus, type GpuStatus } from '../services/gpu/status.ts';
import { createLocalHost } from '../services/host/local-host.ts';
import type { ContainerManager, ContainerStats, ContainerSummary } from '../services/containers/types.ts';
import { loadAgentConfig, SYSTEM_CONFIG, userConfigFile, type AgentConfig } from './config.ts';
import { locateContainer, type Located } from './locate.ts';
import type { AgentArgs } from './args.ts';

/** What a command gets: its streams, environment and a lazily opened engine. */
export interface AgentContext {
  args: AgentArgs;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  version: { version: string; build: string | undefined };
  containers(config: AgentConfig): Promise<ContainerManager>;
}

/** A command's answer: a result for --json, the human text, the exit code. */
export interface AgentOutcome {
  result?: unknown;
  human?: string;
  exitCode?: number;
}

/** zsh, then bash, then sh: the first the image has. `exec` so the shell is the exec's process (exit code, signals). */
export const SHELL_SCRIPT = 'for s in zsh bash; do if command -v "$s" >/dev/null 2>&1; then exec "$s" -l; fi; done; exec sh -l';

export function versionString(v: AgentContext['version']): string {
  return v.build ? `${v.version} (build ${v.build})` : v.version;
}

async function config(ctx: AgentContext): Promise<AgentConfig> {
  return loadAgentConfig([SYSTEM_CONFIG, userConfigFile(ctx.env, ctx.env.HOME || homedir())]);
}

export async function locate(ctx: AgentContext): Promise<{ located: Located; containers: ContainerManager; config: AgentConfig }> {
  const cfg = await config(ctx);
  const containers = await ctx.containers(cfg);
  const located = locateContainer({
    containers: await containers.list(),
    cwd: ctx.cwd,
    ...(ctx.args.project !== undefined ? { project: ctx.args.project } : {}),
    ...(cfg.project !== undefined ? { defaultProject: cfg.project } : {}),
  });
  return { located, containers, config: cfg };
}

export function requireRunning(located: Located): void {
  const c = located.container;
  if (c.state !== 'running') {
    throw new UserError('CONTAINER_NOT_RUNNING', `the dev container ${c.name} of ${c.project ?? 'this project'} is ${c.state}`, 'start it again from your machine: mltoolbox connect HOST --no-attach');
  }
}

/**
 * Runs argv in the container with this process's streams: a TTY (raw mode,
 * resize) when both ends are terminals, else plain pipes with stdin
 * streamed and EOF passed on. Resolves with the command's exit code.
 */
async function attach(ctx: AgentContext, argv: readonly string[], options: { tty: boolean }): Promise<number> {
  const { located, containers } = await locate(ctx);
  requireRunning(located);
  const info = await containers.inspect(located.container.id);
  const workdir = located.cwdInContainer ?? (info?.workdir || undefined);
  const size = { columns: ctx.stdout.columns || 80, rows: ctx.stdout.rows || 24 };
  const session = await containers.startExec(located.container.id, argv, {
    tty: options.tty,
    interactive: true,
    ...(workdir ? { workdir } : {}),
    ...(options.tty ? { size, env: { TERM: ctx.env.TERM || 'xterm-256color' } } : {}),
  });
  session.stdout.pipe(ctx.stdout, { end: false });
  session.stderr.pipe(ctx.stderr, { end: false });
  const onResize = () => void session.resize({ columns: ctx.stdout.columns, rows: ctx.stdout.rows }).catch(() => {});
  if (options.tty) {
    ctx.stdin.setRawMode?.(true);
    ctx.stdout.on('resize', onResize);
  }
  ctx.stdin.pipe(session.stdin!);
  try {
    const { exitCode } = await session.done;
    return exitCode;
  } finally {
    ctx.stdin.unpipe(session.stdin!);
    ctx.stdin.pause();
    if (options.tty) {
      ctx.stdout.off('resize', onResize);
      ctx.stdin.setRawMode?.(false);
    }
  }
}

const bothTerminals = (ctx: AgentContext) => ctx.stdin.isTTY === true && ctx.stdout.isTTY === true;

export async function shell(ctx: AgentContext): Promise<AgentOutcome> {
  const cfg = await config(ctx);
  const argv = cfg.shell ? [cfg.shell, '-l'] : ['sh', '-c', SHELL_SCRIPT];
  return { exitCode: await attach(ctx, argv, { tty: bothTerminals(ctx) }) };
}

export async function run(ctx: AgentContext): Promise<AgentOutcome> {
  if (ctx.args.rest.length === 0) throw new UserError('USAGE', 'mlt run needs a command', 'write: mlt run -- python train.py --epochs 3');
  return { exitCode: await attach(ctx, ctx.args.rest, { tty: bothTerminals(ctx) }) };
}

export async function logs(ctx: AgentContext): Promise<AgentOutcome> {
  const { located, containers } = await locate(ctx);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  try {
    await containers.logs(located.container.id, { follow: ctx.args.follow, ...(ctx.args.tail !== undefined ? { tail: ctx.args.tail } : {}), signal: stop.signal },
      (chunk) => (chunk.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(chunk.data));
  } finally {
    process.off('SIGINT', onSignal);
  }
  return {};
}

export interface StatusResult {
  agent: { version: string; build: string | null; arch: string };
  project: string | null;
  chosenBy: Located['by'];
  container: { id: string; name: string; image: string; state: string; startedAt: string | null; uptimeSeconds: number | null; workdir: string };
  load: ContainerStats | null;
  gpu: GpuStatus;
}

export async function status(ctx: AgentContext): Promise<AgentOutcome> {
  const { located, containers } = await locate(ctx);
  const id = located.container.id;
  const running = located.container.state === 'running';
  const [info, load, gpu] = await Promise.all([
    containers.inspect(id),
    running ? containers.stats(id).catch(() => null) : null,
    gpuStatus(createLocalHost({ env: ctx.env })),
  ]);
  const startedAt = running && info?.startedAt ? info.startedAt : null;
  const uptimeSeconds = startedAt ? Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)) : null;
  const result: StatusResult = {
    agent: { version: ctx.version.version, build: ctx.version.build ?? null, arch: arch() },
    project: located.container.project ?? null,
    chosenBy: located.by,
    container: { id, name: located.container.name, image: located.container.image, state: located.container.state, startedAt, uptimeSeconds, workdir: located.cwdInContainer ?? info?.workdir ?? '' },
    load,
    gpu,
  };
  const lines = [
    `project    ${result.project ?? '?'}`,
    `container  ${result.container.name} (${result.container.state}${uptimeSeconds !== null ? `, up ${shortDuration(uptimeSeconds)}` : ''})`,
    `image      ${result.container.image}`,
    `workdir    ${result.container.workdir}`,
    ...(load ? [`cpu        ${load.cpuPercent === null ? '?' : `${load.cpuPercent}%`}`, `memory     ${bytes(load.memoryBytes)} / ${bytes(load.memoryLimitBytes)}`] : []),
    'gpu',
    ...describeGpuStatus(gpu).map((line) => `  ${line}`),
  ];
  return { result, human: lines.join('\n') };
}

export async function ps(ctx: AgentContext): Promise<AgentOutcome> {
  const containers = await ctx.containers(await config(ctx));
  const list = await containers.list();
  const rows = list.map((c: ContainerSummary) => ({ project: c.project ?? null, name: c.name, state: c.state, status: c.status, created: c.created || null, image: c.image }));
  const human = rows.length === 0
    ? 'no mltoolbox dev containers on this host (start one from your machine: mltoolbox connect HOST)'
    : table([['PROJECT', 'STATE', 'SINCE', 'CONTAINER'], ...rows.map((r) => [r.project ?? '?', r.state, r.status, r.name])]);
  return { result: { containers: rows }, human };
}

export function version(ctx: AgentContext): AgentOutcome {
  const result = { version: ctx.version.version, build: ctx.version.build ?? null, arch: arch(), platform: process.platform, node: process.versions.node };
  return { result, human: versionString(ctx.version) };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

function bytes(value: number | null): string {
  if (value === null) return '?';
  const gib = value / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${Math.round(value / 1024 ** 2)} MiB`;
}
