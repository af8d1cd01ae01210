import { isUserError } from '../../../core/errors.ts';
import type { PluginHostService } from '../../../orchestrators/plugins/plugin-host.ts';
import type { ConfigOrchestrator } from '../../../orchestrators/config/config-orchestrator.ts';

type LoadedConfig = Awaited<ReturnType<ConfigOrchestrator['load']>>;
import type { CommandContext } from '../../command.ts';

/**
 * The plugin host after reading the configuration (which enables plugins).
 * An invalid configuration does not stop `plugins list|doctor`: they still
 * show what is available, and report the problem.
 */
export async function openPlugins(context: CommandContext, mode: 'resolve' | 'redact' = 'redact'): Promise<{
  host: PluginHostService;
  loaded?: LoadedConfig;
  configError?: { code: string; message: string; hint: string; details: readonly string[] };
}> {
  const host = await context.app.plugins();
  try {
    const loaded = await (await context.app.config()).load({ mode });
    return { host, loaded };
  } catch (error) {
    if (!isUserError(error)) throw error;
    return { host, configError: { code: error.code, message: error.message, hint: error.hint, details: error.details } };
  }
}
