import type { Readable, Writable } from 'node:stream';
import type { App } from '../app/create-app.ts';
import type { Reporter } from '../core/reporter.ts';
import type { Style } from './ui/style.ts';

/**
 * A command is two files: `spec.ts` (name, help, options — tiny, imported at
 * start-up to route and render help) and `run.ts` (the work, loaded lazily by
 * `load()` so `--help` never pulls in SSH, Docker, YAML or SQLite code).
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  /** Shown in help: `--host HOST`. */
  valueName?: string;
}

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Takes all remaining positionals. */
  variadic?: boolean;
}

export interface CommandSpec {
  /** One or two words: `doctor`, `config show`. */
  name: string;
  summary: string;
  description?: string;
  args?: readonly ArgSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** Never echo stray positionals back (a user may have typed a secret value there). */
  sensitiveArgs?: boolean;
  /** Accept arguments after `--` (passed through untouched as `rest`). */
  acceptsRest?: boolean;
  examples?: readonly string[];
  /** Help groups commands under these headings. */
  group: 'Start here' | 'Configuration' | 'Secrets' | 'Hosts' | 'Cloud GPUs';
  /**
   * Long work that can run as a relay operation (`--op`, `--background`):
   * a detached worker process runs the command and reports to the relay (src/cli/operation.ts).
   */
  operation?: 'connect' | 'sync' | 'provision';
  load(): Promise<{ run: CommandRun }>;
}

/** The options of a command that can run as a relay operation (docs/relay.md#operations). */
export const OPERATION_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  op: { type: 'boolean', description: 'Run as a relay operation: a background worker does the work and reports to the relay; this command follows it (Ctrl-C detaches, the work goes on)' },
  background: { type: 'boolean', description: 'Run as a relay operation and return at once with its id (follow it with mltoolbox ops watch ID)' },
};

export type OptionValue = string | boolean | string[] | undefined;

export interface CommandInput {
  args: Record<string, string | string[] | undefined>;
  options: Record<string, OptionValue>;
  rest: string[];
}

export interface GlobalOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  color: boolean;
  projectDir: string;
}

export interface CommandContext {
  app: App;
  reporter: Reporter;
  globals: GlobalOptions;
  style: Style;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

/**
 * What a command returns. `result` is the data for `--json`; `human` renders
 * it for people (omit to print nothing on stdout). `exitCode` lets check-style
 * commands fail without throwing (doctor prints its table, then exits 5).
 */
export interface CommandResult {
  result?: unknown;
  human?: () => string;
  exitCode?: number;
  /** Error envelope for a non-zero exit without an exception (doctor). */
  error?: { code: string; message: string; hint: string };
}

export type CommandRun = (context: CommandContext, input: CommandInput) => Promise<CommandResult>;

export function stringOption(input: CommandInput, name: string): string | undefined {
  const value = input.options[name];
  return typeof value === 'string' ? value : undefined;
}

export function flagOption(input: CommandInput, name: string): boolean {
  return input.options[name] === true;
}

export function listOption(input: CommandInput, name: string): string[] {
  const value = input.options[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

export function stringArg(input: CommandInput, name: string): string | undefined {
  const value = input.args[name];
  return typeof value === 'string' ? value : undefined;
}
