import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UserError } from '../core/errors.ts';
import { suggest } from '../core/suggest.ts';
import type { CommandInput, CommandSpec, OptionSpec } from './command.ts';

/** Options every command accepts, before or after the command name. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: 'boolean', description: 'Print one JSON result on stdout: {ok, command, result, error}' },
  verbose: { type: 'boolean', short: 'v', description: 'Show debug lines on stderr' },
  quiet: { type: 'boolean', short: 'q', description: 'Show only warnings and errors on stderr' },
  'no-color': { type: 'boolean', description: 'No colours (also NO_COLOR=1)' },
  'project-dir': { type: 'string', short: 'C', valueName: 'DIR', description: 'Run as if started in DIR' },
  help: { type: 'boolean', short: 'h', description: 'Show help' },
  version: { type: 'boolean', short: 'V', description: 'Print the version' },
};

export interface ParsedCommandLine {
  command: CommandSpec | undefined;
  /** The words typed for the command, when they named none (for "did you mean"). */
  unknownWords: string[];
  globals: { json: boolean; verbose: boolean; quiet: boolean; noColor: boolean; projectDir?: string; help: boolean; version: boolean };
  input: CommandInput;
}

function toParseArgsConfig(specs: Readonly<Record<string, OptionSpec>>): ParseArgsOptionsConfig {
  const config: ParseArgsOptionsConfig = {};
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  return config;
}

const globalTakesValue = (token: string) => token === '--project-dir' || token === '-C';

/** Splits leading command words from the rest, letting global options come first. */
function findCommandWords(argv: readonly string[], commands: readonly CommandSpec[]) {
  const names = new Set(commands.map((c) => c.name));
  const remaining: string[] = [];
  const words: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) {
      remaining.push(token);
      if (globalTakesValue(token) && i + 1 < argv.length) remaining.push(argv[++i]!);
      continue;
    }
    words.push(token);
    const next = argv[i + 1];
    const isGroup = [...names].some((n) => n.startsWith(`${token} `));
    if (next !== undefined && !next.startsWith('-') && (names.has(`${token} ${next}`) || isGroup)) {
      words.push(next);
      i++;
    }
    i++;
    break;
  }
  remaining.push(...argv.slice(i));
  const name = words.join(' ');
  const command = commands.find((c) => c.name === name);
  return { command, words, remaining };
}

export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[]): ParsedCommandLine {
  const { command, words, remaining } = findCommandWords(argv, commands);
  const optionSpecs = { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) };
  // --help anywhere before `--` wins: an unknown option or a missing value next to it still gets the help.
  const end = remaining.indexOf('--');
  const helpAsked = (end === -1 ? remaining : remaining.slice(0, end)).some((t) => t === '--help' || t === '-h');
  let parsed;
  try {
    parsed = parseArgs({ args: remaining, options: toParseArgsConfig(optionSpecs), allowPositionals: true, strict: !helpAsked, tokens: true });
  } catch (error) {
    throw usageError(error, optionSpecs, command);
  }
  const terminator = parsed.tokens.find((t) => t.kind === 'option-terminator');
  const positionals: string[] = [];
  const rest: string[] = [];
  for (const token of parsed.tokens) {
    if (token.kind !== 'positional') continue;
    if (terminator && token.index > terminator.index) rest.push(token.value);
    else positionals.push(token.value);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const globals = {
    json: values.json === true,
    verbose: values.verbose === true,
    quiet: values.quiet === true,
    noColor: values['no-color'] === true,
    ...(typeof values['project-dir'] === 'string' ? { projectDir: values['project-dir'] } : {}),
    help: values.help === true || helpAsked,
    version: values.version === true,
  };
  const options: Record<string, string | boolean | string[] | undefined> = {};
  for (const name of Object.keys(command?.options ?? {})) options[name] = values[name];

  if (!command) return { command, unknownWords: words, globals, input: { args: {}, options, rest } };
  if (rest.length > 0 && !command.acceptsRest) {
    throw new UserError('USAGE', `'${command.name}' takes no arguments after --`, `run 'mltoolbox ${command.name} --help' for its usage`);
  }
  return { command, unknownWords: [], globals, input: { args: bindArgs(command, positionals, globals.help), options, rest } };
}

function bindArgs(command: CommandSpec, positionals: string[], helpRequested: boolean): CommandInput['args'] {
  const args: CommandInput['args'] = {};
  const specs = command.args ?? [];
  let i = 0;
  for (const spec of specs) {
    if (spec.variadic) {
      args[spec.name] = positionals.slice(i);
      i = positionals.length;
      continue;
    }
    const value = positionals[i++];
    if (value === undefined && spec.required && !helpRequested) {
      throw new UserError('USAGE', `'${command.name}' needs ${spec.name.toUpperCase()}`, `usage: mltoolbox ${command.name} ${usageLine(command)}`);
    }
    args[spec.name] = value;
  }
  if (i < positionals.length && !helpRequested) {
    const shown = command.sensitiveArgs ? `${positionals.length - i} unexpected argument(s)` : `unexpected argument '${positionals[i]}'`;
    throw new UserError('USAGE', `${shown} for '${command.name}'`, `usage: mltoolbox ${command.name} ${usageLine(command)}`);
  }
  return args;
}

export function usageLine(command: CommandSpec): string {
  const parts = (command.args ?? []).map((a) => {
    const name = a.name.toUpperCase() + (a.variadic ? '...' : '');
    return a.required ? name : `[${name}]`;
  });
  if (Object.keys(command.options ?? {}).length > 0) parts.push('[options]');
  if (command.acceptsRest) parts.push('[-- ARGS...]');
  return parts.join(' ');
}

function usageError(error: unknown, specs: Readonly<Record<string, OptionSpec>>, command: CommandSpec | undefined): UserError {
  const message = error instanceof Error ? error.message : String(error);
  const where = command ? `mltoolbox ${command.name} --help` : 'mltoolbox --help';
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  if (unknown) {
    const guess = suggest(unknown.replace(/^-+/, ''), Object.keys(specs));
    return new UserError('USAGE', `unknown option ${unknown}`, guess ? `did you mean --${guess}? (see '${where}')` : `see '${where}' for the options`);
  }
  // parseArgs messages are already one clear sentence ("Option '--host <value>' argument missing").
  return new UserError('USAGE', message.split('\n')[0]!.replace(/\.$/, ''), `see '${where}'`);
}
