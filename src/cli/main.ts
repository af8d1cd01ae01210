import type { Readable, Writable } from 'node:stream';
import { ExitCode, isUserError, UserError } from '../core/errors.ts';
import { suggest } from '../core/suggest.ts';
import type { CommandContext, CommandResult, CommandSpec, GlobalOptions } from './command.ts';
import { commands as allCommands } from './commands/index.ts';
import { renderCommandHelp, renderGroupHelp, renderMainHelp } from './help.ts';
import { errorEnvelope, renderInternalError, renderUserError, writeJson } from './output.ts';
import { parseCommandLine } from './parse-argv.ts';
import { applyLegacyCommandLine } from './legacy/index.ts';
import { createTerminalReporter } from './ui/reporter.ts';
import { createStyle, shouldUseColor, type Style } from './ui/style.ts';
import { cliVersion } from './version.ts';

export interface CliIo {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

/** Runs one command line and returns the exit code. Never calls process.exit. */
export async function runCli(io: CliIo, commands: readonly CommandSpec[] = allCommands): Promise<number> {
  const earlyStyle = createStyle(shouldUseColor({ noColorFlag: io.argv.includes('--no-color'), env: io.env, isTTY: Boolean(io.stderr.isTTY) }));
  const wantsJson = io.argv.includes('--json');
  let commandName = '';
  try {
    io = await applyLegacyCommandLine(io, commands);
    const parsed = parseCommandLine(io.argv, commands);
    const style = parsed.globals.noColor ? createStyle(false) : earlyStyle;
    commandName = parsed.command?.name ?? parsed.unknownWords.join(' ');
    if (parsed.globals.version && !parsed.command) {
      io.stdout.write(`${cliVersion()}\n`);
      return ExitCode.ok;
    }
    if (!parsed.command) {
      const [first] = parsed.unknownWords;
      if (first === undefined || first === 'help') {
        io.stdout.write(`${renderMainHelp(commands, style)}\n`);
        return first === undefined && !parsed.globals.help ? ExitCode.usage : ExitCode.ok;
      }
      if (parsed.unknownWords.length === 1 && commands.some((c) => c.name.startsWith(`${first} `))) {
        io.stdout.write(`${renderGroupHelp(first, commands, style)}\n`);
        return parsed.globals.help ? ExitCode.ok : ExitCode.usage;
      }
      const guess = suggest(parsed.unknownWords.join(' '), commands.map((c) => c.name)) ?? suggest(first, commands.map((c) => c.name.split(' ')[0]!));
      throw new UserError('UNKNOWN_COMMAND', `unknown command '${parsed.unknownWords.join(' ')}'`,
        guess ? `did you mean 'mltoolbox ${guess}'? Run 'mltoolbox --help' for all commands` : `run 'mltoolbox --help' for all commands`);
    }
    if (parsed.globals.help) {
      io.stdout.write(`${renderCommandHelp(parsed.command, style)}\n`);
      return ExitCode.ok;
    }

    const globals: GlobalOptions = {
      json: parsed.globals.json,
      verbose: parsed.globals.verbose,
      quiet: parsed.globals.quiet,
      color: style.enabled,
      projectDir: await resolveProjectDir(io.cwd, parsed.globals.projectDir),
    };
    const terminal = createTerminalReporter({
      stream: io.stderr,
      style,
      verbose: globals.verbose,
      quiet: globals.quiet,
      interactive: Boolean(io.stderr.isTTY) && !io.env.CI,
    });
    // An operation's worker (src/cli/operation.ts) also reports what it prints to the relay.
    const operation = parsed.command.operation ? await import('./operation.ts') : undefined;
    const worker = operation?.isWorker(parsed.command, io.env) ? operation.operationReporter(terminal) : undefined;
    const reporter = worker?.reporter ?? terminal;
    const { createApp } = await import('../app/create-app.ts');
    const app = createApp({
      env: io.env,
      projectDir: globals.projectDir,
      reporter,
      interactive: Boolean(io.stdin.isTTY) && !io.env.CI && !globals.json,
      command: parsed.command.name,
      askHidden: async (question) => (await import('./ui/passphrase.ts')).readHidden({ question, stdin: io.stdin, stderr: io.stderr }),
    });
    const context: CommandContext = { app, reporter, globals, style, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr };
    if (operation?.wantsOperation(parsed.command, parsed.input, io.env)) {
      return emit(io, style, commandName, globals.json, await operation.launchOperation(context, parsed.command, parsed.input, io));
    }
    const registered = worker ? await operation!.registerWorker(app, parsed.command, parsed.input) : undefined;
    if (registered) worker!.attach(registered.sink);
    const { run } = await parsed.command.load();
    const outcome: CommandResult = registered ? await operation!.reportingTo(registered.sink, () => run(context, parsed.input)) : await run(context, parsed.input);
    return emit(io, style, commandName, globals.json, outcome);
  } catch (error) {
    const style = earlyStyle;
    if (isUserError(error)) {
      if (wantsJson) writeJson(io.stdout, { ok: false, command: commandName, result: null, error: errorEnvelope(error) });
      io.stderr.write(`${renderUserError(error, style)}\n`);
      return error.exitCode;
    }
    if (wantsJson) {
      writeJson(io.stdout, {
        ok: false, command: commandName, result: null,
        error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), hint: 'this is a bug in mltoolbox; please report it' },
      });
    }
    io.stderr.write(`${renderInternalError(error, style)}\n`);
    return ExitCode.internal;
  }
}

function emit(io: CliIo, _style: Style, command: string, json: boolean, outcome: CommandResult): number {
  const exitCode = outcome.exitCode ?? ExitCode.ok;
  if (json) {
    writeJson(io.stdout, { ok: exitCode === 0, command, result: outcome.result ?? null, error: outcome.error ?? null });
  } else if (outcome.human) {
    const text = outcome.human();
    if (text) io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
  return exitCode;
}

async function resolveProjectDir(cwd: string, requested: string | undefined): Promise<string> {
  if (requested === undefined) return cwd;
  const { resolve } = await import('node:path');
  const { stat } = await import('node:fs/promises');
  const dir = resolve(cwd, requested);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError('PROJECT_DIR_NOT_FOUND', `project folder ${dir} does not exist or is not a folder`, 'pass an existing folder to -C/--project-dir');
  }
  return dir;
}

/** The process entry: wires real stdio, signals and the exit code. */
export async function main(): Promise<void> {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\ninterrupted (${signal})\n`);
    process.exit(ExitCode.interrupted);
  };
  // Marked as "exits at once": config loading may stand it aside for the default action (infrastructure/interrupt.ts withDefaultSignals).
  Object.defineProperty(onSignal, Symbol.for('mltoolbox.exitsAtOnce'), { value: true });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `mltoolbox connect … 2>&1 | head -1`: a reader that leaves early must not abort the
  // work (an unhandled EPIPE would). What we would have printed is dropped.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
  const code = await runCli({
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
  process.exitCode = code;
  // A finished command exits even if something left a handle open (a plugin's timer
  // after its hook timed out); unref'd, so a normal exit is not delayed.
  setTimeout(() => process.exit(code), 1500).unref();
}
