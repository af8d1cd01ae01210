import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import {
  PLUGIN_API_VERSION,
  type ConfigView, type HookName, type HookObject, type HookPayloads, type HookResults, type HooksOfKind, type PluginContext, type PluginLogger,
} from '../../plugin-api/index.ts';
import { DEFAULT_HOOK_TIMEOUT_MS } from './entries.ts';
import type { ActivePlugin, HookScope } from './types.ts';
import { sectionKey } from './validate-plugin.ts';

export interface HookRunnerDeps {
  reporter: Reporter;
  env: NodeJS.ProcessEnv;
  /** Read-only secret lookup, opened on first use. */
  secrets: () => Promise<{ get(name: string): Promise<string | undefined> }>;
  defaultTimeoutMs?: number;
}

/** A plugin's hook failed: always names the plugin and the hook. */
export class PluginHookError extends Error {
  readonly plugin: string;
  readonly hook: string;
  readonly hint: string | undefined;
  readonly timedOut: boolean;

  constructor(plugin: string, hook: string, cause: unknown, options: { timedOut?: boolean; timeoutMs?: number } = {}) {
    const detail = options.timedOut ? `did not finish within ${options.timeoutMs} ms` : describe(cause);
    super(`plugin ${plugin} failed in hook ${hook}: ${detail}`, { cause });
    this.name = 'PluginHookError';
    this.plugin = plugin;
    this.hook = hook;
    this.timedOut = options.timedOut ?? false;
    const hint = (cause as { hint?: unknown } | null)?.hint;
    this.hint = typeof hint === 'string' && hint ? hint : undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] || error.name;
  if (typeof error === 'string') return error;
  try {
    return `threw ${JSON.stringify(error)}`;
  } catch {
    return `threw ${String(error)}`;
  }
}

class HookTimeout extends Error {}

/** pre, then plugins without an order, then post; list order within each. */
export function orderedFor(plugins: readonly ActivePlugin[], hook: HookName): ActivePlugin[] {
  const rank = (p: ActivePlugin) => {
    const entry = p.plugin.hooks?.[hook];
    const order = typeof entry === 'object' && entry !== null ? entry.order : undefined;
    return order === 'pre' ? 0 : order === 'post' ? 2 : 1;
  };
  return plugins
    .map((p, index) => ({ p, index }))
    .filter(({ p }) => p.plugin.hooks?.[hook] !== undefined)
    .sort((a, b) => rank(a.p) - rank(b.p) || a.index - b.index)
    .map(({ p }) => p);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A read-only copy: a plugin can never change the config the core keeps using. */
export function frozenCopy<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}

export function prefixedLogger(reporter: Reporter, name: string): PluginLogger {
  const tag = (m: string) => `[${name}] ${m}`;
  return {
    info: (m) => reporter.info(tag(m)),
    warn: (m) => reporter.warn(tag(m)),
    success: (m) => reporter.success(tag(m)),
    debug: (m) => reporter.debug(tag(m)),
    task: (title, work) => reporter.task(tag(title), work),
  };
}

/**
 * Runs hooks across the active plugins, each call isolated: a time limit
 * (the hook's AbortSignal fires), errors wrapped with plugin and hook name.
 * A failure is a warning and the step goes on, unless the plugin's entry says
 * `required: true`: then the step fails with PLUGIN_HOOK_FAILED/TIMEOUT.
 * One runner per kind, typed so a hook cannot be run the wrong way.
 */
export function createHookRunner(plugins: () => readonly ActivePlugin[], deps: HookRunnerDeps) {
  const defaultTimeout = deps.defaultTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const secrets = {
    get: async (name: string) => (await deps.secrets()).get(name),
  };

  function contextFor(active: ActivePlugin, scope: HookScope, config: ConfigView, signal: AbortSignal): PluginContext {
    const { plugin, entry } = active;
    return {
      plugin: { name: plugin.name, version: plugin.version },
      apiVersion: PLUGIN_API_VERSION,
      logger: prefixedLogger(deps.reporter, plugin.name),
      config: {
        project: config,
        section: config[sectionKey(plugin)] as Readonly<unknown> | undefined,
        options: frozenCopy(entry.options),
      },
      secrets,
      env: Object.freeze({ ...deps.env }),
      project: Object.freeze({ ...scope.project }),
      ...(scope.cluster ? { cluster: frozenCopy(scope.cluster) } : {}),
      ...(scope.container ? { container: scope.container } : {}),
      ...(scope.host ? { host: scope.host } : {}),
      ...(scope.ports ? { ports: scope.ports } : {}),
      signal,
    };
  }

  /** One plugin's hook: resolves its result, or rejects with a PluginHookError. */
  async function callOne<H extends HookName>(active: ActivePlugin, hook: H, payload: HookPayloads[H], scope: HookScope, config: ConfigView): Promise<HookResults[H]> {
    const entry = active.plugin.hooks![hook] as unknown;
    const object = typeof entry === 'function' ? undefined : (entry as HookObject<H>);
    const handler = (object ? object.handler : entry) as (payload: HookPayloads[H], context: PluginContext) => unknown;
    const timeoutMs = object?.timeoutMs ?? active.entry.timeoutMs ?? defaultTimeout;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Kept referenced on purpose: a plugin that hangs on nothing must not let the process exit mid-command.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new HookTimeout();
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      const started = Date.now();
      const work = Promise.resolve().then(() => handler(payload, contextFor(active, scope, config, controller.signal)));
      work.catch(() => {}); // a late rejection after a timeout must not become an unhandled rejection
      const result = (await Promise.race([work, timeout])) as HookResults[H];
      deps.reporter.debug(`plugin ${active.plugin.name}: ${hook} took ${Date.now() - started} ms`);
      return result;
    } catch (error) {
      throw new PluginHookError(active.plugin.name, hook, error, error instanceof HookTimeout ? { timedOut: true, timeoutMs } : {});
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs a failure (optional plugin) or turns it into the step's error (required plugin). */
  function settle(active: ActivePlugin, error: unknown): UserError | undefined {
    const failure = error instanceof PluginHookError ? error : new PluginHookError(active.plugin.name, 'unknown', error);
    const hint = failure.hint ?? (failure.timedOut
      ? `raise timeout_ms in the ${active.plugin.name} entry of plugins:, or fix the plugin`
      : `run with --verbose for the plugin's stack; 'mltoolbox plugins doctor' checks its setup`);
    const stack = failure.cause instanceof Error ? failure.cause.stack : undefined;
    if (stack) deps.reporter.debug(stack);
    if (active.entry.required) {
      return new UserError(failure.timedOut ? 'PLUGIN_HOOK_TIMEOUT' : 'PLUGIN_HOOK_FAILED', failure.message, hint, {
        cause: failure,
        data: { plugin: failure.plugin, hook: failure.hook },
      });
    }
    deps.reporter.warn(`${failure.message} (continuing without it)\n  hint: ${hint}`);
    return undefined;
  }

  function configOf(scope: HookScope): ConfigView {
    return frozenCopy(scope.config);
  }

  return {
    async sequential<H extends HooksOfKind<'sequential'>>(hook: H, payload: HookPayloads[H], scope: HookScope): Promise<void> {
      const config = configOf(scope);
      const frozen = frozenCopy(payload);
      for (const active of orderedFor(plugins(), hook)) {
        try {
          await callOne(active, hook, frozen, scope, config);
        } catch (error) {
          const fatal = settle(active, error);
          if (fatal) throw fatal;
        }
      }
    },

    async parallel<H extends HooksOfKind<'parallel'>>(hook: H, payload: HookPayloads[H], scope: HookScope): Promise<void> {
      const config = configOf(scope);
      const frozen = frozenCopy(payload);
      const ordered = orderedFor(plugins(), hook);
      const outcomes = await Promise.allSettled(ordered.map((active) => callOne(active, hook, frozen, scope, config)));
      let fatal: UserError | undefined;
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'rejected') fatal = settle(ordered[i]!, outcome.reason) ?? fatal;
      });
      if (fatal) throw fatal;
    },

    async first<H extends HooksOfKind<'first'>>(hook: H, payload: HookPayloads[H], scope: HookScope): Promise<HookResults[H] | undefined> {
      const config = configOf(scope);
      const frozen = frozenCopy(payload);
      for (const active of orderedFor(plugins(), hook)) {
        try {
          const result = await callOne(active, hook, frozen, scope, config);
          if (result !== undefined && result !== null) return result;
        } catch (error) {
          const fatal = settle(active, error);
          if (fatal) throw fatal;
        }
      }
      return undefined;
    },

    /** workerTargets: each plugin's list, joined in plugin order; a failing plugin adds nothing (or fails the command when required). */
    async collect<H extends HooksOfKind<'collect'>>(hook: H, payload: HookPayloads[H], scope: HookScope): Promise<string[]> {
      const config = configOf(scope);
      const frozen = frozenCopy(payload);
      const collected: string[] = [];
      for (const active of orderedFor(plugins(), hook)) {
        try {
          const result: unknown = await callOne(active, hook, frozen, scope, config);
          if (result === undefined || result === null) continue;
          if (!Array.isArray(result) || !result.every((item) => typeof item === 'string')) {
            throw new PluginHookError(active.plugin.name, hook, new Error(`returned ${Array.isArray(result) ? 'a list with a non-string' : typeof result}, expected a list of target names or nothing`));
          }
          collected.push(...result);
        } catch (error) {
          const fatal = settle(active, error);
          if (fatal) throw fatal;
        }
      }
      return collected;
    },

    /** configLoaded: each plugin gets the previous one's config; returning undefined keeps it. */
    async reduce<H extends HooksOfKind<'reduce'>>(hook: H, payload: HookPayloads[H], scope: HookScope): Promise<HookPayloads[H]> {
      let current = payload;
      for (const active of orderedFor(plugins(), hook)) {
        try {
          const config = frozenCopy(current.config);
          const result = await callOne(active, hook, { ...current, config }, { ...scope, config }, config);
          if (result === undefined || result === null) continue;
          if (typeof result !== 'object' || Array.isArray(result)) {
            throw new PluginHookError(active.plugin.name, hook, new Error(`returned ${Array.isArray(result) ? 'a list' : typeof result}, expected the config object or nothing`));
          }
          current = { ...current, config: structuredClone(result) };
        } catch (error) {
          const fatal = settle(active, error);
          if (fatal) throw fatal;
        }
      }
      return current;
    },
  };
}

export type HookRunner = ReturnType<typeof createHookRunner>;
