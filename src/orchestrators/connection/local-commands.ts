import { UserError } from '../../core/errors.ts';
import { stderrTail } from '../../core/stderr-tail.ts';
import type { Reporter } from '../../core/reporter.ts';
import { runProcess } from '../../infrastructure/process.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';

/** A lifecycle command or hook as the schema accepts it: a shell string, an argv list, or named commands. */
export type ProjectCommand = string | readonly string[] | Readonly<Record<string, string | readonly string[]>>;

/** Each command of a (possibly named) project command as argv: a string runs with `sh -c`. */
export function commandArgvs(command: ProjectCommand): { name?: string; argv: string[] }[] {
  const one = (c: string | readonly string[]) => (typeof c === 'string' ? ['sh', '-c', c] : [...c]);
  if (typeof command === 'string' || Array.isArray(command)) return [{ argv: one(command as string | readonly string[]) }];
  return Object.entries(command as Record<string, string | readonly string[]>).map(([name, c]) => ({ name, argv: one(c) }));
}

export interface LocalCommandContext {
  reporter: Reporter;
  /** The project folder: where the command runs. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** MLTOOLBOX_TARGET, MLTOOLBOX_REMOTE_DIR…: what the command may want to know. */
  vars: Record<string, string>;
}

/**
 * Runs `initialize_command` or a `hooks.*` entry on this machine, in the
 * project folder (named commands in parallel, as devcontainer.json does).
 * Its output is shown as progress; a failure stops the command it belongs to
 * with the last lines of that output.
 */
export async function runLocalCommand(key: string, command: ProjectCommand | undefined, context: LocalCommandContext): Promise<void> {
  if (command === undefined) return;
  await Promise.all(commandArgvs(command).map(({ name, argv }) => {
    const label = name ? `${key}.${name}` : key;
    return context.reporter.task(`Running ${label}`, async (task) => {
      const show = (chunk: string) => {
        const line = chunk.trimEnd().split('\n').pop();
        if (line) task.update(line.slice(0, 60));
      };
      const result = await runProcess(argv[0]!, argv.slice(1), {
        cwd: context.cwd,
        env: { ...context.env, ...context.vars },
        onStdout: show,
        onStderr: show,
      }).catch((error: unknown) => {
        throw new UserError('LOCAL_COMMAND_FAILED', `${label} could not start: ${(error as Error).message}`, `check the command in your configuration (${key})`, { cause: error });
      });
      for (const line of `${result.stdout}${result.stderr}`.trimEnd().split('\n')) if (line) context.reporter.debug(`${label}: ${line}`);
      if (result.code !== 0) {
        throw new UserError('LOCAL_COMMAND_FAILED', `${label} failed on this machine with exit code ${result.code ?? result.signal}`,
          `fix the command in your configuration (${key}), or run it yourself in ${context.cwd} to see why. Its output:\n${stderrTail(result.stderr || result.stdout, 10).join('\n')}`,
          { data: { exitCode: result.code, step: key } });
      }
    });
  }));
}

/** Where a hook is: `initialize_command` (environment.initialize_command) or one of hooks.*. */
type HookName = keyof NonNullable<LoadedConfig['config']['hooks']> & string;
export type HookKey = 'initialize_command' | `hooks.${HookName}`;

/** The tool variables a hook gets: where the project is and goes (listed in TOOL_ENV_VARS). */
export interface HookPlace {
  target: string;
  /** The project's folder on the host, when it is another machine. */
  remoteDir?: string;
  /** The dev container's name, once there is one. */
  container?: string;
}

export type LocalHooks = (key: HookKey, loaded: LoadedConfig, where: HookPlace) => Promise<void>;

/** hooks.* and initialize_command: on this machine, in the project folder, told where the project goes. */
export function createLocalHooks(deps: { reporter: Reporter; projectDir: string; env: NodeJS.ProcessEnv }): LocalHooks {
  return (key, loaded, where) => {
    const command = key === 'initialize_command' ? loaded.config.environment.initialize_command : loaded.config.hooks?.[key.slice('hooks.'.length) as HookName];
    return runLocalCommand(key === 'initialize_command' ? 'environment.initialize_command' : key, command, {
      reporter: deps.reporter, cwd: deps.projectDir, env: deps.env,
      vars: {
        MLTOOLBOX_PROJECT_DIR: deps.projectDir,
        MLTOOLBOX_TARGET: where.target,
        ...(where.remoteDir ? { MLTOOLBOX_REMOTE_DIR: where.remoteDir } : {}),
        ...(where.container ? { MLTOOLBOX_CONTAINER: where.container } : {}),
      },
    });
  };
}
