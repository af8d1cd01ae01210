import * as z from 'zod';
import { pluginError, type Plugin, type PluginContainer, type PluginContext } from '../../plugin-api/index.ts';
import { parseWandbVerify, WANDB_KEY_ENV, wandbVerifyCommand, type WandbVerification } from './verify.ts';

/**
 * Weights & Biases: the API key comes from the secret store and reaches the
 * container only through an exec's environment (the Docker API request
 * body), never a command line; the plugin checks it works and says so.
 */

export const DEFAULT_SECRET = 'wandb_api_key';

export const wandbSectionSchema = z
  .strictObject({
    secret: z.string().min(1).optional().describe('Secret holding the W&B API key. Default: wandb_api_key.'),
    verify: z.boolean().optional().describe('Check the key inside the container on each start. Default: true.'),
    sync_after_fetch: z.boolean().optional().describe('After `mltoolbox fetch`, upload offline runs from the container (wandb sync --sync-all). Default: false.'),
  })
  .describe('Weights & Biases (wandb plugin).');

export type WandbSection = z.infer<typeof wandbSectionSchema>;

type WandbContext = PluginContext<WandbSection>;

function secretName(context: WandbContext): string {
  return context.config.section?.secret ?? DEFAULT_SECRET;
}

/** The API key from the secret store, undefined when not set. */
async function apiKey(context: WandbContext): Promise<string | undefined> {
  return context.secrets.get(secretName(context));
}

export async function verifyInContainer(container: PluginContainer, key: string): Promise<WandbVerification> {
  const result = await container.exec(wandbVerifyCommand(), { env: { [WANDB_KEY_ENV]: key } });
  return parseWandbVerify(`${result.stdout}\n${result.stderr}`, result.exitCode, key);
}

/** Whether runs in the container get the key: environment.env must name it. */
function containerHasKey(context: WandbContext): boolean {
  const environment = context.config.project['environment'] as { env?: Record<string, unknown> } | undefined;
  return typeof environment?.env?.[WANDB_KEY_ENV] === 'string' && environment.env[WANDB_KEY_ENV] !== '';
}

export function report(context: WandbContext, verification: WandbVerification): void {
  switch (verification.status) {
    case 'ok':
      context.logger.success(`W&B: logged in${verification.user ? ` as ${verification.user}` : ''}`);
      break;
    case 'not-installed':
      context.logger.warn('W&B: wandb is not installed in the container (pip install wandb); key not checked');
      break;
    case 'no-python':
      context.logger.warn('W&B: no python in the container; key not checked');
      break;
    case 'failed':
      context.logger.warn(`W&B: the API key did not work: ${verification.message}`);
      break;
  }
}

/**
 * `wandb sync --sync-all` in the container, the key only in the exec's
 * environment; the output comes back with the key scrubbed. Shared by the
 * `wandb sync` command and the afterFetch hook.
 */
export async function syncOfflineRuns(context: WandbContext): Promise<{ exitCode: number; output: string }> {
  if (!context.container) throw pluginError('no running dev container', 'Start it first: mltoolbox connect TARGET --no-attach');
  const key = await apiKey(context);
  if (!key) throw pluginError(`secret ${secretName(context)} is not set`, `mltoolbox secret set ${secretName(context)}`);
  const result = await context.container.exec(['wandb', 'sync', '--sync-all'], { env: { [WANDB_KEY_ENV]: key } });
  return { exitCode: result.exitCode, output: (result.stdout + result.stderr).replaceAll(key, '***') };
}

export const wandbPlugin: Plugin<WandbSection> = {
  name: 'wandb',
  version: '1.1.0',
  apiVersion: '1.2',
  description: 'Checks the W&B API key from the secret store inside the dev container; can sync offline runs after fetch.',
  config: { key: 'wandb', schema: wandbSectionSchema },
  commands: [
    {
      name: 'wandb sync',
      summary: 'Upload offline W&B runs from the container (wandb sync --sync-all)',
      description: 'Runs `wandb sync --sync-all` in the project folder inside the container, with the API key from the secret store in its environment.',
      examples: ['mltoolbox plugins run wandb sync'],
      async run(_input, context) {
        const { exitCode, output } = await syncOfflineRuns(context);
        return { result: { exitCode }, human: output, exitCode };
      },
    },
  ],
  hooks: {
    // Puts the key in the container as a secret reference: the host resolves
    // it from the secret store and sends it only in the Docker API body.
    async configLoaded({ config }, context) {
      const environment = (config['environment'] ?? {}) as { env?: Record<string, unknown> };
      if (environment.env?.[WANDB_KEY_ENV] !== undefined) return undefined;
      if ((await apiKey(context)) === undefined) return undefined; // containerStart says how to set it
      return { ...config, environment: { ...environment, env: { ...environment.env, [WANDB_KEY_ENV]: `\${secret:${secretName(context)}}` } } };
    },
    // Results just came back: upload the runs that trained offline too (opt-in).
    afterFetch: {
      timeoutMs: 300_000,
      async handler(_payload, context) {
        if (context.config.section?.sync_after_fetch !== true) return;
        if (!context.container) {
          context.logger.warn('W&B: no running dev container on this host; offline runs not synced (mltoolbox connect, then fetch again or run: mltoolbox plugins run wandb sync)');
          return;
        }
        const { exitCode, output } = await context.logger.task('Syncing offline W&B runs', () => syncOfflineRuns(context));
        if (exitCode !== 0) throw pluginError(`wandb sync exited with ${exitCode}: ${output.trim().split('\n').pop()?.trim() ?? ''}`, 'Run it by hand to see all of it: mltoolbox plugins run wandb sync');
        context.logger.success('W&B: offline runs synced');
      },
    },
    containerStart: {
      timeoutMs: 60_000,
      async handler(_payload, context) {
        const key = await apiKey(context);
        if (!key) {
          context.logger.warn(`W&B: secret ${secretName(context)} is not set (mltoolbox secret set ${secretName(context)})`);
          return;
        }
        if (!containerHasKey(context)) {
          context.logger.warn(`W&B: runs in the container will not see the key; add to mltoolbox.yaml: environment.env.${WANDB_KEY_ENV}: \${secret:${secretName(context)}}`);
        }
        if (context.config.section?.verify === false || !context.container) return;
        const container = context.container;
        report(context, await context.logger.task('Checking the W&B API key', () => verifyInContainer(container, key)));
      },
    },
  },
};
