import { UserError } from '../../core/errors.ts';
import { PLUGIN_API_VERSION, type ConfigView, type PluginCommandInput, type PluginCommandResult, type PluginContext } from '../../plugin-api/index.ts';
import { frozenCopy, prefixedLogger } from './hook-runner.ts';
import type { PluginHostService } from './plugin-host.ts';
import type { HookScope } from './types.ts';
import type { StateStore } from '../../db/index.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import type { ConnectionOrchestrator } from '../connection/connection-orchestrator.ts';
import { sessionScope } from './connection-hooks.ts';
import { sectionKey } from './validate-plugin.ts';

export interface PluginCommandRun {
  plugin: string;
  command: string;
  outcome: PluginCommandResult;
}

export interface RunPluginCommandDeps {
  host: PluginHostService;
  env: NodeJS.ProcessEnv;
  secrets(): Promise<{ get(name: string): Promise<string | undefined> }>;
  /** What the command may use: config and project, plus container/host when the project is connected. */
  scope: HookScope;
}

/** Finds an enabled plugin's command by its words (two-word names first) and runs it, errors naming the plugin. */
export async function runPluginCommand(deps: RunPluginCommandDeps, words: readonly string[], input: Omit<PluginCommandInput, 'args'> & { args: readonly string[] }): Promise<PluginCommandRun> {
  const available = deps.host.commands();
  const twoWords = words.slice(0, 2).join(' ');
  const match = available.find((c) => c.command.name === twoWords && words.length >= 2) ?? available.find((c) => c.command.name === words[0]);
  if (!match) {
    const names = available.map((c) => `${c.command.name} (${c.plugin.plugin.name})`);
    throw new UserError('UNKNOWN_COMMAND', `no enabled plugin has a command '${words.join(' ')}'`,
      names.length ? `plugin commands: ${names.join(', ')}` : 'no enabled plugin adds commands; `mltoolbox plugins list` shows each plugin\'s commands');
  }
  const { plugin, command } = match;
  const used = command.name.split(' ').length;
  const positionals = [...words.slice(used), ...input.args];
  const args: Record<string, string | string[] | undefined> = {};
  (command.args ?? []).forEach((spec, index) => {
    args[spec.name] = spec.variadic ? positionals.slice(index) : positionals[index];
  });
  const missing = (command.args ?? []).find((spec, index) => spec.required && positionals[index] === undefined);
  if (missing) {
    throw new UserError('USAGE', `${command.name} needs ${missing.name}`, `mltoolbox plugins run ${command.name} ${(command.args ?? []).map((a) => (a.required ? a.name : `[${a.name}]`)).join(' ')}`);
  }
  const config = frozenCopy(deps.scope.config) as ConfigView;
  const secrets = { get: async (name: string) => (await deps.secrets()).get(name) };
  const context: PluginContext = {
    plugin: { name: plugin.plugin.name, version: plugin.plugin.version },
    apiVersion: PLUGIN_API_VERSION,
    logger: prefixedLogger(deps.host.reporter, plugin.plugin.name),
    config: { project: config, section: config[sectionKey(plugin.plugin)] as Readonly<unknown> | undefined, options: frozenCopy(plugin.entry.options) },
    secrets,
    env: Object.freeze({ ...deps.env }),
    project: Object.freeze({ ...deps.scope.project }),
    ...(deps.scope.cluster ? { cluster: frozenCopy(deps.scope.cluster) } : {}),
    ...(deps.scope.container ? { container: deps.scope.container } : {}),
    ...(deps.scope.host ? { host: deps.scope.host } : {}),
    ...(deps.scope.ports ? { ports: deps.scope.ports } : {}),
    signal: new AbortController().signal,
  };
  try {
    const outcome = (await command.run({ args, options: input.options, rest: input.rest }, context)) ?? {};
    return { plugin: plugin.plugin.name, command: command.name, outcome };
  } catch (error) {
    if (error instanceof UserError) throw error;
    const hint = (error as { hint?: unknown } | null)?.hint;
    throw new UserError('PLUGIN_HOOK_FAILED', `plugin ${plugin.plugin.name} failed in command ${command.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      typeof hint === 'string' && hint ? hint : 'run with --verbose for details; `mltoolbox plugins doctor` checks the plugin',
      { cause: error, data: { plugin: plugin.plugin.name, command: command.name } });
  }
}

export interface ProjectPluginCommandsDeps {
  plugins(): Promise<PluginHostService>;
  /** The project's configuration with secrets resolved (a command may need them). */
  loadConfig(): Promise<LoadedConfig>;
  state(): Promise<StateStore>;
  connection(): Promise<ConnectionOrchestrator>;
  env: NodeJS.ProcessEnv;
  projectDir: string;
  secrets(): Promise<{ get(name: string): Promise<string | undefined> }>;
}

/**
 * `plugins run WORDS…`: a plugin's command in the project. When the project
 * has a dev container on record, the command also gets the container, the
 * host and ports (through the project's session); otherwise config and
 * project only.
 */
export async function runProjectPluginCommand(deps: ProjectPluginCommandsDeps, words: readonly string[], rest: readonly string[]): Promise<PluginCommandRun> {
  // The host first: loading the configuration enables the plugins it names.
  const host = await deps.plugins();
  const loaded = await deps.loadConfig();
  const run = (scope: HookScope) => runPluginCommand({ host, env: deps.env, secrets: deps.secrets, scope }, words, { args: [], options: {}, rest: [...rest] });
  const state = await deps.state();
  const project = state.getProjectByPath(deps.projectDir);
  const record = project?.lastRemote ? state.getContainer(project.id, project.lastRemote) : undefined;
  if (record) {
    return (await deps.connection()).withSession(undefined, async (session) => {
      const info = await session.place.containers.inspect(record.containerId);
      const container = info?.running ? { id: info.id, name: info.name, ports: info.ports } : undefined;
      return run(sessionScope(session, { projectDir: deps.projectDir, command: 'plugins run' }, container));
    });
  }
  return run({
    command: 'plugins run',
    config: loaded.config as unknown as ConfigView,
    project: { name: loaded.config.project.name, localDir: deps.projectDir, workdir: loaded.config.project.workdir },
  });
}
