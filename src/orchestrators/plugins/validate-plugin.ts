import { HOOK_KINDS, PLUGIN_API_VERSION, type HookName, type Plugin } from '../../plugin-api/index.ts';

export const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]*$/;

export type ApiCompatibility =
  | { ok: true; warning?: string }
  | { ok: false; message: string; hint: string };

function parseVersion(text: string): { major: number; minor: number } | undefined {
  const match = /^\^?~?(\d+)(?:\.(\d+))?(?:\.\d+)?(?:[-+].*)?$/.exec(text.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2] ?? 0) };
}

/** Another major is refused; a newer minor warns (hooks added since are not called); an older minor is fine. */
export function checkApiVersion(pluginName: string, wanted: string, current: string = PLUGIN_API_VERSION): ApiCompatibility {
  const want = parseVersion(wanted);
  const have = parseVersion(current)!;
  if (!want) {
    return { ok: false, message: `plugin ${pluginName} declares apiVersion '${wanted}', which is not a version`, hint: `the plugin must set apiVersion: '${current}' (MAJOR.MINOR)` };
  }
  if (want.major !== have.major) {
    const newer = want.major > have.major;
    return {
      ok: false,
      message: `plugin ${pluginName} targets plugin API ${want.major}.${want.minor}, but this mltoolbox provides ${current}`,
      hint: newer ? `update mltoolbox (npm install -g mltoolbox@latest), or use an older version of ${pluginName}` : `update the plugin ${pluginName} to one written for plugin API ${have.major}.x`,
    };
  }
  if (want.minor > have.minor) {
    return { ok: true, warning: `plugin ${pluginName} targets plugin API ${want.major}.${want.minor}, newer than this mltoolbox's ${current}: hooks added since are not called; update mltoolbox` };
  }
  return { ok: true };
}

/** Problems with a plugin object's shape, in plain words (empty: fine). Unknown hooks are warnings. */
export function checkPluginShape(value: unknown): { problems: string[]; warnings: string[] } {
  if (typeof value !== 'object' || value === null) return { problems: ['the module does not export a plugin object'], warnings: [] };
  const plugin = value as Partial<Plugin> & Record<string, unknown>;
  const found = { problems: checkIdentity(plugin), warnings: [] as string[] };
  if (plugin.hooks !== undefined) checkHooks(plugin.hooks, found);
  if (plugin.commands !== undefined) found.problems.push(...checkCommands(plugin.commands));
  if (plugin.config !== undefined) found.problems.push(...checkConfig(plugin.config));
  return found;
}

/** name, version, apiVersion. */
function checkIdentity(plugin: Partial<Plugin>): string[] {
  const problems: string[] = [];
  if (typeof plugin.name !== 'string' || !PLUGIN_NAME.test(plugin.name)) problems.push(`name must be lowercase letters, digits and -, got ${JSON.stringify(plugin.name)}`);
  if (typeof plugin.version !== 'string' || !plugin.version) problems.push('version must be a string such as "1.0.0"');
  if (typeof plugin.apiVersion !== 'string' || !plugin.apiVersion) problems.push(`apiVersion must be a string such as "${PLUGIN_API_VERSION}"`);
  return problems;
}

/** Each hook: a function or `{ handler, order }`; an unknown name is only a warning (a newer plugin API). */
function checkHooks(hooks: unknown, found: { problems: string[]; warnings: string[] }): void {
  if (typeof hooks !== 'object' || hooks === null) {
    found.problems.push('hooks must be an object');
    return;
  }
  for (const [hook, entry] of Object.entries(hooks)) {
    if (!(hook in HOOK_KINDS)) found.warnings.push(`unknown hook '${hook}' (not called; known: ${Object.keys(HOOK_KINDS).join(', ')})`);
    else found.problems.push(...checkHookEntry(hook, entry));
  }
}

function checkHookEntry(hook: string, entry: unknown): string[] {
  const problems: string[] = [];
  const object = typeof entry === 'object' && entry !== null ? (entry as { handler?: unknown; order?: unknown }) : undefined;
  const handler = typeof entry === 'function' ? entry : object?.handler;
  if (typeof handler !== 'function') problems.push(`hooks.${hook} must be a function or { handler, order }`);
  const order = object?.order;
  if (order !== undefined && order !== 'pre' && order !== 'post') problems.push(`hooks.${hook}.order must be 'pre' or 'post'`);
  return problems;
}

const COMMAND_NAME = /^[a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)?$/;

function checkCommands(commands: unknown): string[] {
  if (!Array.isArray(commands)) return ['commands must be a list'];
  return commands.flatMap((command: unknown) => {
    const c = command as { name?: unknown; run?: unknown } | undefined;
    if (typeof c?.name !== 'string' || !COMMAND_NAME.test(c.name)) return [`command name ${JSON.stringify(c?.name)} must be one or two lowercase words`];
    return typeof c.run === 'function' ? [] : [`command '${c.name}' has no run function`];
  });
}

function checkConfig(config: unknown): string[] {
  const schema = (config as { schema?: unknown } | null)?.schema;
  return typeof schema === 'object' && schema !== null ? [] : ['config.schema must be a Standard Schema (e.g. a zod 4 schema) or a JSON Schema object'];
}

/** The hooks a plugin implements, known ones only. */
export function hookNames(plugin: Plugin): HookName[] {
  return Object.keys(plugin.hooks ?? {}).filter((hook): hook is HookName => hook in HOOK_KINDS);
}

/** The plugin's section key in mltoolbox.yaml. */
export function sectionKey(plugin: Plugin): string {
  return plugin.config?.key ?? plugin.name.replaceAll('-', '_');
}
