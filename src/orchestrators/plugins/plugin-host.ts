import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { HOOK_KINDS, PLUGIN_API_VERSION, type HookKind, type HookName, type HookOrder, type Plugin, type PluginCommand } from '../../plugin-api/index.ts';
import type { Origin } from '../../services/config/layer.ts';
import type { PluginSections } from '../../services/config/schema.ts';
import { findAllPackages, findLocalFiles, findPackage, importPlugin, moduleAtPath, PACKAGE_PREFIX, packageDirs, type FoundModule } from './discovery.ts';
import { readPluginEntries, type PluginEntry } from './entries.ts';
import { createHookRunner, prefixedLogger, type HookRunner } from './hook-runner.ts';
import { sectionSchema } from './schema-adapter.ts';
import { describeSource, type ActivePlugin, type HookScope, type PluginSource } from './types.ts';
import { checkApiVersion, checkPluginShape, hookNames, sectionKey } from './validate-plugin.ts';

export interface PluginHostDeps {
  /** The built-in plugins (src/plugins), imported only when a command needs plugins. */
  builtins(): Promise<readonly Plugin[]>;
  /** `$XDG_CONFIG_HOME/mltoolbox/plugins`. */
  pluginsDir: string;
  projectDir: string;
  homeDir: string;
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  secrets(): Promise<{ get(name: string): Promise<string | undefined> }>;
  /** node_modules folders searched for packages; default: the project's and its parents', then global. */
  packageDirs?: readonly string[];
  defaultTimeoutMs?: number;
}

/** Config keys a plugin section may never take over. */
const CORE_KEYS = new Set(['version', 'project', 'environment', 'sync', 'remote', 'hooks', 'plugins', 'profiles']);

type LoadOutcome =
  | { ok: true; plugin: Plugin; source: PluginSource; warnings: string[] }
  | { ok: false; error: UserError; source?: PluginSource };

export interface PluginListing {
  name: string;
  version: string | null;
  apiVersion: string | null;
  source: string;
  sourceKind: PluginSource['kind'] | 'unknown';
  enabled: boolean;
  required: boolean;
  /** The plugin's mltoolbox.yaml section, if it has one. */
  section: string | null;
  hooks: { name: HookName; kind: HookKind; order: HookOrder | null }[];
  commands: string[];
  /** Why it could not be used (not found, load error, API mismatch). */
  problem: { code: string; message: string; hint: string } | null;
  warnings: string[];
}

export interface PluginCheck {
  plugin: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  hint?: string;
}

/**
 * The plugin host: finds and loads plugins (built-ins, files in the user's
 * plugins folder, npm packages), checks their API version and shape, gives
 * the config loader their sections, and runs their hooks. Plugins named in
 * `plugins:` are loaded when the configuration is read (their sections are
 * validated with it); nothing is loaded for --help or commands that never
 * read the configuration.
 */
export function createPluginHost(deps: PluginHostDeps) {
  const dirs = () => deps.packageDirs ?? packageDirs(deps.projectDir, deps.env, process.execPath);
  let builtinsLoaded: Promise<readonly Plugin[]> | undefined;
  const builtins = () => (builtinsLoaded ??= deps.builtins());
  let active: ActivePlugin[] = [];
  let entries: PluginEntry[] = [];
  let outcomes = new Map<PluginEntry, LoadOutcome>();
  let activatedFor: string | undefined;

  const hooks: HookRunner = createHookRunner(() => active, {
    reporter: deps.reporter,
    env: deps.env,
    secrets: deps.secrets,
    ...(deps.defaultTimeoutMs ? { defaultTimeoutMs: deps.defaultTimeoutMs } : {}),
  });

  async function loadFound(found: FoundModule, label: string): Promise<LoadOutcome> {
    const source: PluginSource = found.kind === 'file' ? { kind: 'file', file: found.file } : { kind: 'package', name: found.packageName!, dir: found.dir! };
    let value: unknown;
    try {
      value = await importPlugin(found.file);
    } catch (error) {
      return {
        ok: false, source,
        error: new UserError('PLUGIN_LOAD_FAILED', `plugin ${label} could not be loaded from ${describeSource(source)}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
          'fix or reinstall the plugin; `mltoolbox plugins doctor` checks every plugin', { cause: error, data: { plugin: label } }),
      };
    }
    return checkLoaded(value, source, label);
  }

  function checkLoaded(value: unknown, source: PluginSource, label: string): LoadOutcome {
    const shape = checkPluginShape(value);
    if (shape.problems.length > 0) {
      return {
        ok: false, source,
        error: new UserError('PLUGIN_INVALID', `${describeSource(source)} is not a valid mltoolbox plugin (${label})`,
          'export default an object with name, version, apiVersion and hooks; see docs/plugin-development.md',
          { details: shape.problems, data: { plugin: label } }),
      };
    }
    const plugin = value as Plugin;
    const api = checkApiVersion(plugin.name, plugin.apiVersion);
    if (!api.ok) return { ok: false, source, error: new UserError('PLUGIN_API_MISMATCH', api.message, api.hint, { data: { plugin: plugin.name, apiVersion: plugin.apiVersion, supported: PLUGIN_API_VERSION } }) };
    const key = sectionKey(plugin);
    if (plugin.config && CORE_KEYS.has(key)) {
      return { ok: false, source, error: new UserError('PLUGIN_INVALID', `plugin ${plugin.name} claims the config section '${key}', which belongs to mltoolbox`, 'the plugin must use its own section key (config.key)', { data: { plugin: plugin.name } }) };
    }
    return { ok: true, plugin, source, warnings: [...shape.warnings.map((w) => `plugin ${plugin.name}: ${w}`), ...(api.warning ? [api.warning] : [])] };
  }

  /** Finds what a `plugins:` entry names: built-in, then a file in the plugins folder, then a package. */
  async function resolveEntry(entry: PluginEntry): Promise<LoadOutcome> {
    const { ref } = entry;
    if (ref.kind === 'path') {
      const found = await moduleAtPath(ref.path);
      if (!found) return notFound(entry, `no plugin file or package folder at ${ref.path}`, 'fix the path (relative to the config file that names it)');
      return loadFound(found, entry.label);
    }
    if (ref.kind === 'package') {
      const found = await findPackage(ref.name, dirs());
      if (!found) return notFound(entry, `the package ${ref.name} is not installed`, `npm install ${ref.name} (in the project, or -g)`);
      return loadFound(found, entry.label);
    }
    const builtin = (await builtins()).find((p) => p.name === ref.name);
    if (builtin) return checkLoaded(builtin, { kind: 'builtin' }, ref.name);
    const locals = await findLocalFiles(deps.pluginsDir);
    const byFileName = locals.find((f) => /^(.*)\.m?js$/.exec(f.file.split('/').pop()!)?.[1] === ref.name);
    for (const found of byFileName ? [byFileName, ...locals.filter((f) => f !== byFileName)] : locals) {
      const outcome = await loadFound(found, ref.name);
      if (outcome.ok && outcome.plugin.name === ref.name) return outcome;
      if (found === byFileName) return outcome;
    }
    const pkg = await findPackage(`${PACKAGE_PREFIX}${ref.name}`, dirs());
    if (pkg) return loadFound(pkg, ref.name);
    const known = [...(await builtins()).map((p) => p.name)];
    return notFound(entry, `no plugin named ${ref.name}`,
      `built-ins: ${known.join(', ') || 'none'}; or put ${ref.name}.mjs in ${deps.pluginsDir}, or npm install ${PACKAGE_PREFIX}${ref.name}; 'mltoolbox plugins list' shows what is available`);
  }

  function notFound(entry: PluginEntry, message: string, hint: string): LoadOutcome {
    return { ok: false, error: new UserError('PLUGIN_NOT_FOUND', `plugin ${entry.label}: ${message}`, hint, { data: { plugin: entry.label } }) };
  }

  function sectionsOf(plugin: Plugin, trusted: boolean, into: PluginSections): void {
    if (!plugin.config) return;
    try {
      into[sectionKey(plugin)] = sectionSchema(plugin.config.schema, plugin.name, { trusted });
    } catch (error) {
      deps.reporter.warn(`plugin ${plugin.name}: ${error instanceof Error ? error.message : String(error)}; its section is not validated`);
    }
  }

  /**
   * Loads the plugins `plugins:` enables (once per distinct list) and returns
   * the config sections to validate: every built-in's, plus the enabled
   * plugins'. A plugin that cannot be used is a warning, or an error when its
   * entry is `required`.
   */
  async function configSections(config: Record<string, unknown>, context: { origins?: ReadonlyMap<string, Origin> } = {}): Promise<PluginSections> {
    const wanted = readPluginEntries(config, { ...(context.origins ? { origins: context.origins } : {}), projectDir: deps.projectDir, homeDir: deps.homeDir });
    const key = JSON.stringify(wanted);
    if (key !== activatedFor) {
      const nextOutcomes = new Map<PluginEntry, LoadOutcome>();
      const nextActive: ActivePlugin[] = [];
      for (const entry of wanted) {
        if (!entry.enabled) continue;
        const outcome = await resolveEntry(entry);
        nextOutcomes.set(entry, outcome);
        if (!outcome.ok) {
          if (entry.required) throw outcome.error;
          deps.reporter.warn(`${outcome.error.message} (skipped)\n  hint: ${outcome.error.hint}`);
          continue;
        }
        for (const warning of outcome.warnings) deps.reporter.warn(warning);
        if (nextActive.some((a) => a.plugin.name === outcome.plugin.name)) {
          deps.reporter.warn(`plugin ${outcome.plugin.name} is listed twice in plugins:; the first entry is used`);
          continue;
        }
        nextActive.push({ plugin: outcome.plugin, source: outcome.source, entry });
        deps.reporter.debug(`plugin ${outcome.plugin.name} ${outcome.plugin.version} from ${describeSource(outcome.source)}`);
      }
      entries = wanted;
      outcomes = nextOutcomes;
      active = nextActive;
      activatedFor = key;
    }
    const sections: PluginSections = {};
    for (const plugin of await builtins()) sectionsOf(plugin, true, sections);
    for (const { plugin, source } of active) sectionsOf(plugin, source.kind === 'builtin', sections);
    return sections;
  }

  /** Every plugin that could be enabled: built-ins, files in the plugins folder, installed packages. */
  async function discoverAll(): Promise<{ label: string; outcome: LoadOutcome }[]> {
    const found: { label: string; outcome: LoadOutcome }[] = [];
    for (const plugin of await builtins()) found.push({ label: plugin.name, outcome: checkLoaded(plugin, { kind: 'builtin' }, plugin.name) });
    for (const file of await findLocalFiles(deps.pluginsDir)) found.push({ label: file.file, outcome: await loadFound(file, file.file) });
    for (const pkg of await findAllPackages(dirs())) found.push({ label: pkg.packageName!, outcome: await loadFound(pkg, pkg.packageName!) });
    return found;
  }

  /** Sections of every available plugin, for `mltoolbox config schema` (editors complete any plugin you may enable). */
  async function schemaSections(): Promise<PluginSections> {
    const sections: PluginSections = {};
    for (const { outcome } of await discoverAll()) if (outcome.ok) sectionsOf(outcome.plugin, outcome.source.kind === 'builtin', sections);
    for (const { plugin, source } of active) sectionsOf(plugin, source.kind === 'builtin', sections);
    return sections;
  }

  function listing(outcome: LoadOutcome, label: string, entry: PluginEntry | undefined): PluginListing {
    const enabled = Boolean(entry?.enabled) && outcome.ok;
    if (!outcome.ok) {
      return {
        name: label, version: null, apiVersion: null,
        source: outcome.source ? describeSource(outcome.source) : 'not found', sourceKind: outcome.source?.kind ?? 'unknown',
        enabled: false, required: entry?.required ?? false, section: null, hooks: [], commands: [],
        problem: { code: outcome.error.code, message: outcome.error.message, hint: outcome.error.hint }, warnings: [],
      };
    }
    const { plugin } = outcome;
    return {
      name: plugin.name, version: plugin.version, apiVersion: plugin.apiVersion,
      source: describeSource(outcome.source), sourceKind: outcome.source.kind,
      enabled, required: entry?.required ?? false,
      section: plugin.config ? sectionKey(plugin) : null,
      hooks: hookNames(plugin).map((name) => {
        const hook = plugin.hooks![name];
        const order = typeof hook === 'object' && hook !== null ? hook.order ?? null : null;
        return { name, kind: HOOK_KINDS[name], order };
      }),
      commands: (plugin.commands ?? []).map((c) => c.name),
      problem: null,
      warnings: outcome.warnings,
    };
  }

  /** Enabled plugins first (in `plugins:` order), then everything else available. */
  async function list(): Promise<PluginListing[]> {
    const rows: PluginListing[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const outcome = outcomes.get(entry);
      if (!outcome) continue;
      const row = listing(outcome, entry.label, entry);
      if (seen.has(row.name)) continue;
      seen.add(row.name);
      rows.push(row);
    }
    for (const entry of entries) {
      if (entry.enabled) continue;
      const outcome = await resolveEntry(entry);
      const row = listing(outcome, entry.label, entry);
      if (!seen.has(row.name)) rows.push(row), seen.add(row.name);
    }
    for (const { label, outcome } of await discoverAll()) {
      const row = listing(outcome, label, undefined);
      if (!seen.has(row.name)) rows.push(row), seen.add(row.name);
    }
    return rows;
  }

  /** One check per plugin: can it be loaded, is its API compatible, do its commands clash. */
  async function doctor(builtinCommandNames: readonly string[] = []): Promise<PluginCheck[]> {
    const checks: PluginCheck[] = [];
    const commandOwners = new Map<string, string>();
    for (const row of await list()) {
      if (row.problem) {
        const inUse = entries.some((e) => e.label === row.name && e.enabled);
        checks.push({ plugin: row.name, status: inUse || row.required ? 'fail' : 'warn', message: row.problem.message, hint: row.problem.hint });
        continue;
      }
      for (const warning of row.warnings) checks.push({ plugin: row.name, status: 'warn', message: warning });
      for (const command of row.commands) {
        if (builtinCommandNames.includes(command)) {
          checks.push({ plugin: row.name, status: 'warn', message: `its command '${command}' is hidden by mltoolbox's own`, hint: 'the plugin must rename the command' });
        } else if (commandOwners.has(command) && row.enabled) {
          checks.push({ plugin: row.name, status: 'warn', message: `its command '${command}' is also defined by ${commandOwners.get(command)}`, hint: 'enable only one of them' });
        }
        if (row.enabled && !commandOwners.has(command)) commandOwners.set(command, row.name);
      }
      checks.push({
        plugin: row.name,
        status: 'ok',
        message: `${row.version} (plugin API ${row.apiVersion}) from ${row.source}${row.enabled ? ', enabled' : ', available'}`,
      });
    }
    return checks;
  }

  /** Commands of the enabled plugins. */
  function commands(): { plugin: ActivePlugin; command: PluginCommand }[] {
    return active.flatMap((plugin) => (plugin.plugin.commands ?? []).map((command) => ({ plugin, command: command as PluginCommand })));
  }

  return {
    configSections,
    schemaSections,
    list,
    doctor,
    commands,
    /** The enabled plugins, in `plugins:` order. */
    active: (): readonly ActivePlugin[] => active,
    hooks,
    logger: (name: string) => prefixedLogger(deps.reporter, name),
    /** Runs `shutdown` for every enabled plugin. After a failed command it never throws: the command's own error stands. */
    async shutdown(scope: HookScope, outcome: { ok: boolean; error?: unknown }): Promise<void> {
      if (active.length === 0) return;
      const error = outcome.error;
      const payload = {
        command: scope.command,
        ok: outcome.ok,
        ...(error !== undefined
          ? { error: { ...(error instanceof UserError ? { code: error.code } : {}), message: error instanceof Error ? error.message : String(error) } }
          : {}),
      };
      try {
        await hooks.parallel('shutdown', payload, scope);
      } catch (failure) {
        if (outcome.ok) throw failure;
        deps.reporter.warn(failure instanceof Error ? failure.message : String(failure));
      }
    },
    pluginsDir: deps.pluginsDir,
    reporter: deps.reporter,
  };
}

export type PluginHostService = ReturnType<typeof createPluginHost>;
