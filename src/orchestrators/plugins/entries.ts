import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Origin } from '../../services/config/layer.ts';

/** How a `plugins:` entry names its plugin. */
export type PluginRef =
  | { kind: 'name'; name: string }
  | { kind: 'path'; path: string }
  | { kind: 'package'; name: string };

/** One `plugins:` entry, normalised. */
export interface PluginEntry {
  ref: PluginRef;
  /** As written, for messages: `wandb`, `./plugins/x.mjs`. */
  label: string;
  enabled: boolean;
  required: boolean;
  timeoutMs: number | undefined;
  options: Record<string, unknown>;
}

export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

const looksLikePath = (text: string) => text.startsWith('.') || text.startsWith('/') || text.startsWith('~') || /\.(?:m?js|cjs)$/.test(text);
const looksLikePackage = (text: string) => text.startsWith('@') || text.startsWith('mltoolbox-plugin-');

/**
 * Reads `plugins:` from the merged configuration, tolerating malformed
 * entries (the schema reports those with positions); relative paths are
 * resolved against the folder of the config file that wrote them.
 */
export function readPluginEntries(
  config: Record<string, unknown>,
  options: { origins?: ReadonlyMap<string, Origin>; projectDir: string; homeDir: string },
): PluginEntry[] {
  const list = config.plugins;
  if (!Array.isArray(list)) return [];
  const entries: PluginEntry[] = [];
  list.forEach((item: unknown, index) => {
    const baseDir = baseDirFor(options.origins, index, options.projectDir);
    const toPath = (text: string) => resolvePath(text, baseDir, options.homeDir);
    if (typeof item === 'string' && item.trim()) {
      const text = item.trim();
      const ref: PluginRef = looksLikePath(text) ? { kind: 'path', path: toPath(text) } : looksLikePackage(text) ? { kind: 'package', name: text } : { kind: 'name', name: text };
      entries.push({ ref, label: text, enabled: true, required: false, timeoutMs: undefined, options: {} });
      return;
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return;
    const o = item as Record<string, unknown>;
    let ref: PluginRef | undefined;
    let label = '';
    if (typeof o.path === 'string' && o.path) [ref, label] = [{ kind: 'path', path: toPath(o.path) }, o.path];
    else if (typeof o.package === 'string' && o.package) [ref, label] = [{ kind: 'package', name: o.package }, o.package];
    else if (typeof o.name === 'string' && o.name) [ref, label] = [looksLikePackage(o.name) ? { kind: 'package', name: o.name } : { kind: 'name', name: o.name }, o.name];
    if (!ref) return;
    entries.push({
      ref,
      label,
      enabled: o.enabled !== false,
      required: o.required === true,
      timeoutMs: typeof o.timeout_ms === 'number' && o.timeout_ms > 0 ? o.timeout_ms : undefined,
      options: typeof o.options === 'object' && o.options !== null && !Array.isArray(o.options) ? { ...(o.options as Record<string, unknown>) } : {},
    });
  });
  return entries;
}

function baseDirFor(origins: ReadonlyMap<string, Origin> | undefined, index: number, projectDir: string): string {
  const origin = origins?.get(`plugins[${index}].path`) ?? origins?.get(`plugins[${index}]`) ?? origins?.get('plugins');
  return origin?.file ? dirname(origin.file) : projectDir;
}

function resolvePath(text: string, baseDir: string, homeDir: string): string {
  if (text === '~' || text.startsWith('~/')) return join(homeDir, text.slice(1));
  return isAbsolute(text) ? text : resolve(baseDir, text);
}
