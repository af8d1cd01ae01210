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
  const problems: string[] = [];
  const warnings: string[] = [];
  if (typeof value !== 'object' || value === null) return { problems: ['the module does not export a plugin object'], warnings };
  const plugin = value as Partial<Plugin> & Record<string, unknown>;
  if (typeof plugin.name !== 'string' || !PLUGIN_NAME.test(plugin.name)) problems.push(`name must be lowercase letters, digits and -, got ${JSON.stringify(plugin.name)}`);
  if (typeof plugin.version !== 'string' || !plugin.version) problems.push('version must be a string such as "1.0.0"');
  if (typeof plugin.apiVersion !== 'string' || !plugin.apiVersion) problems.push(`apiVersion must be a string such as "${PLUGIN_API_VERSION}"`);
  if (plugin.hooks !== undefined) {
    if (typeof plugin.hooks !== 'object' || plugin.hooks === null) problems.push('hooks must be an object');
    else {
      for (const [hook, entry] of Object.entries(plugin.hooks)) {
        if (!(hook in HOOK_KINDS)) {
          warnings.push(`unknown hook '${hook}' (not called; known: ${Object.keys(HOOK_KINDS).join(', ')})`);
          continue;
        }
        const handler = typeof entry === 'function' ? entry : (entry as { handler?: unknown } | undefined)?.handler;
        if (typeof handler !== 'function') problems.push(`hooks.${hook} must be a function or { handler, order }`);
        const order = typeof entry === 'object' && entry !== null ? (entry as { order?: unknown }).order : undefined;
        if (order !== undefined && order !== 'pre' && order !== 'post') problems.push(`hooks.${hook}.order must be 'pre' or 'post'`);
      }
    }
  }
  if (plugin.commands !== undefined) {
    if (!Array.isArray(plugin.commands)) problems.push('commands must be a list');
    else {
      for (const command of plugin.commands as unknown[]) {
        const c = command as { name?: unknown; run?: unknown; summary?: unknown };
        if (typeof c?.name !== 'string' || !/^[a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)?$/.test(c.name)) problems.push(`command name ${JSON.stringify(c?.name)} must be one or two lowercase words`);
        else if (typeof c.run !== 'function') problems.push(`command '${c.name}' has no run function`);
      }
    }
  }
  if (plugin.config !== undefined) {
    const schema = (plugin.config as { schema?: unknown })?.schema;
    if (typeof schema !== 'object' || schema === null) problems.push('config.schema must be a Standard Schema (e.g. a zod 4 schema) or a JSON Schema object');
  }
  return { problems, warnings };
}

/** The hooks a plugin implements, known ones only. */
export function hookNames(plugin: Plugin): HookName[] {
  return Object.keys(plugin.hooks ?? {}).filter((hook): hook is HookName => hook in HOOK_KINDS);
}

/** The plugin's section key in mltoolbox.yaml. */
export function sectionKey(plugin: Plugin): string {
  return plugin.config?.key ?? plugin.name.replaceAll('-', '_');
}
