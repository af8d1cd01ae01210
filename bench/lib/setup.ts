import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { joinShellCommand } from '../../src/core/shell-quote.ts';
import { createSandbox, run, runMltoolbox, startHarness, useHarness, type HarnessInfo, type RunResult, type Sandbox } from '../../test/harness/index.ts';
import { note, REPO_ROOT } from './report.ts';
import { stopwatch } from './stats.ts';

export const HOST = 'mlt-test-host';

/**
 * The harness the benchmark talks to: the shared one when a test run passes
 * it down, else a private sshd + Docker started here and stopped by `stop()`.
 */
export async function benchHarness(): Promise<{ harness: HarnessInfo; stop: () => Promise<void> }> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) {
    throw new Error('dist/cli.js is missing: run `npm run build` first (the benchmarks time the built binary)');
  }
  if (process.env.MLT_HARNESS_INFO) return { harness: await useHarness(), stop: async () => {} };
  note('starting a private harness (sshd on loopback + Docker)');
  const harness = await startHarness();
  return { harness, stop: () => harness.stop() };
}

/**
 * The frame every benchmark shares: a harness, the body, then whatever the body
 * registered with atEnd (success or not), the harness stopped, and an exit code.
 */
export async function runBenchmark(body: (harness: HarnessInfo, atEnd: (cleanup: () => Promise<void>) => void) => Promise<void>): Promise<never> {
  const { harness, stop } = await benchHarness();
  const cleanups: (() => Promise<void>)[] = [];
  let exitCode = 0;
  try {
    await body(harness, (cleanup) => cleanups.push(cleanup));
  } catch (error) {
    console.error(error);
    exitCode = 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
    await stop();
  }
  process.exit(exitCode);
}

/**
 * A sandbox whose control sockets live in a folder we know
 * (XDG_RUNTIME_DIR/mltoolbox/ssh), so a benchmark can close the master
 * between runs to time a cold connection.
 */
export async function benchSandbox(harness: HarnessInfo, env: NodeJS.ProcessEnv = {}): Promise<Sandbox & { controlDir: string }> {
  const sandbox = await createSandbox({ harness, env });
  const runtime = sandbox.path('run');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  sandbox.env.XDG_RUNTIME_DIR = runtime;
  return { ...sandbox, controlDir: join(runtime, 'mltoolbox', 'ssh') };
}

/** Where benchmarks install the agent on the harness host (agent.install_dir): the sandbox's folder, never the machine's. */
export function agentDirOf(sandbox: Sandbox): string {
  return sandbox.path('host-bin');
}

/**
 * A user's first `connect --yes`: the container, the agent (in agentDirOf) and
 * its fast channel, all undone at the end. Returns connect's result and the
 * environment that times the same commands without the fast channel.
 */
export async function connectWithAgent(sandbox: Sandbox & { controlDir: string }, harness: HarnessInfo, atEnd: (cleanup: () => Promise<void>) => void): Promise<{ result: any; viaSsh: NodeJS.ProcessEnv }> { // result: connect --json, as parsed
  const project = sandbox.projectDir;
  const result = JSON.parse((await mltOk(sandbox, project, ['connect', HOST, '--no-attach', '--yes', '--json'])).stdout).result;
  atEnd(async () => {
    await run('pkill', ['-f', `^${agentDirOf(sandbox)}/mlt serve --foreground`]).catch(() => undefined);
    await cleanup(sandbox, project, harness.ssh.sshConfigFile, result.remoteDir);
  });
  if (result.fastChannel !== true) throw new Error(`connect did not start the fast channel (agent: ${JSON.stringify(result.agent)})`);
  return { result, viaSsh: { ...sandbox.env, MLTOOLBOX_FAST_CHANNEL: '0' } };
}

/** mltoolbox.yaml using the harness's offline image: no build, no pull. */
export async function writeProjectConfig(projectDir: string, harness: HarnessInfo, name = 'bench', options: { agentDir?: string } = {}): Promise<void> {
  await mkdir(projectDir, { recursive: true });
  const agent = options.agentDir ? `agent:\n  install_dir: ${options.agentDir}\n` : '';
  await writeFile(join(projectDir, 'mltoolbox.yaml'), `version: 1\nproject:\n  name: ${name}\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  gpus: optional\n${agent}`);
}

/**
 * `count` small files spread over nested folders (about 100 a folder, two
 * levels deep), like a source tree: what rsync's file list has to walk.
 */
export async function generateTree(root: string, count: number): Promise<void> {
  const perDir = 100;
  const dirs = Math.ceil(count / perDir);
  for (let d = 0; d < dirs; d++) {
    const dir = join(root, 'src', `pkg${Math.floor(d / 10)}`, `mod${d % 10}`);
    await mkdir(dir, { recursive: true });
    const files = Math.min(perDir, count - d * perDir);
    await Promise.all(Array.from({ length: files }, (_, f) =>
      writeFile(join(dir, `file${f}.py`), `# ${d}/${f}\ndef f${f}():\n    return ${d * perDir + f}\n`)));
  }
}

export interface Timed extends RunResult {
  ms: number;
}

/** Runs the built binary in the project folder and times the whole process. */
export async function mlt(sandbox: Sandbox, projectDir: string, args: readonly string[], env: NodeJS.ProcessEnv = sandbox.env): Promise<Timed> {
  const elapsed = stopwatch();
  const result = await runMltoolbox(['-C', projectDir, ...args], { env, cwd: projectDir, timeoutMs: 300_000 });
  return { ...result, ms: elapsed() };
}

export async function mltOk(sandbox: Sandbox, projectDir: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Timed> {
  const result = await mlt(sandbox, projectDir, args, env);
  if (result.code !== 0) throw new Error(`mltoolbox ${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
  return result;
}

/** Any program, timed as a whole process. */
export async function timed(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Timed> {
  const elapsed = stopwatch();
  const result = await run(command, args, { ...options, timeoutMs: 300_000 });
  return { ...result, ms: elapsed() };
}

export async function timedOk(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Timed> {
  const result = await timed(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

/** Ends every master connection the sandbox's mltoolbox left running (the next command connects cold). */
export async function closeMasters(controlDir: string, sshConfigFile: string): Promise<number> {
  if (!existsSync(controlDir)) return 0;
  let closed = 0;
  // Control sockets only: the fast channel's saved file (NAME.fast) and rsh script have a dot.
  const sockets = () => readdirSync(controlDir).filter((name) => !name.includes('.'));
  for (const name of sockets()) {
    const result = await run('ssh', ['-F', sshConfigFile, '-o', `ControlPath=${join(controlDir, name)}`, '-O', 'exit', HOST], { timeoutMs: 10_000 });
    if (result.code === 0) closed++;
  }
  // `-O exit` returns before the master has removed its socket; wait (bounded) so the next run sees none.
  for (let i = 0; i < 100 && sockets().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return closed;
}

/**
 * Leaves nothing behind: the project's container, its folder on the host
 * (the benchmark made it; `down` keeps files on purpose), then the masters.
 */
export async function cleanup(sandbox: Sandbox & { controlDir: string }, projectDir: string, sshConfigFile: string, remoteDir?: string): Promise<void> {
  await mlt(sandbox, projectDir, ['down', HOST]).catch(() => undefined);
  if (remoteDir?.includes('/mltoolbox/')) await run('ssh', ['-F', sshConfigFile, HOST, joinShellCommand(['rm', '-rf', '--', remoteDir])], { timeoutMs: 60_000 }).catch(() => undefined);
  await closeMasters(sandbox.controlDir, sshConfigFile).catch(() => 0);
}
