import * as z from 'zod';
import type { Plugin, PluginContext } from '../../plugin-api/index.ts';
import { SLACK_EVENTS, slackMessage, type SlackEvent, type SlackMessageInfo } from './messages.ts';
import { DELIVERY_DEFAULTS, postWebhook, type DeliveryOptions, type DeliveryResult, type FetchLike } from './webhook.ts';

/**
 * Slack notifications through an incoming webhook whose URL is a secret
 * (`mltoolbox secret set slack_webhook`). Delivery is bounded — a few
 * attempts, a timeout each, one overall deadline — and a failed delivery is
 * a warning, never a failed step.
 */

export const DEFAULT_SECRET = 'slack_webhook';

export const slackSectionSchema = z
  .strictObject({
    secret: z.string().min(1).optional().describe('Secret holding the webhook URL. Default: slack_webhook.'),
    events: z.array(z.enum(SLACK_EVENTS)).optional().describe('Events that notify. Default: all.'),
    attempts: z.number().int().min(1).max(5).optional().describe('Delivery attempts. Default: 3.'),
    timeout_ms: z.number().int().min(100).max(30_000).optional().describe('Time limit per request. Default: 5000.'),
    backoff_ms: z.number().int().min(0).max(10_000).optional().describe('Wait before the second attempt, doubled after. Default: 500.'),
  })
  .describe('Slack notifications (slack plugin).');

export type SlackSection = z.infer<typeof slackSectionSchema>;

type SlackContext = PluginContext<SlackSection>;

export interface SlackPluginOptions {
  /** For tests: replaces global fetch. */
  fetch?: FetchLike;
}

export function deliveryOptions(section: SlackSection | undefined, signal: AbortSignal): DeliveryOptions {
  const attempts = section?.attempts ?? DELIVERY_DEFAULTS.attempts;
  const timeoutMs = section?.timeout_ms ?? DELIVERY_DEFAULTS.timeoutMs;
  const backoffMs = section?.backoff_ms ?? DELIVERY_DEFAULTS.backoffMs;
  // Room for every attempt's timeout and the waits between them (plus a little for connecting), nothing more.
  const deadlineMs = attempts * (timeoutMs + 100) + backoffMs * (2 ** Math.max(0, attempts - 1) - 1);
  return { attempts, timeoutMs, backoffMs, deadlineMs, signal };
}

/** The hook's own time limit: the delivery's deadline plus a little. */
function hookTimeout(): number {
  const { attempts, timeoutMs, backoffMs } = DELIVERY_DEFAULTS;
  return attempts * timeoutMs + backoffMs * 2 ** attempts + 1_000;
}

export async function notify(context: SlackContext, event: SlackEvent, info: Omit<SlackMessageInfo, 'project'>, fetch?: FetchLike): Promise<DeliveryResult | undefined> {
  const section = context.config.section;
  if (section?.events && !section.events.includes(event)) return undefined;
  const secretName = section?.secret ?? DEFAULT_SECRET;
  const url = await context.secrets.get(secretName);
  if (!url) {
    context.logger.warn(`no Slack webhook: secret ${secretName} is not set (mltoolbox secret set ${secretName})`);
    return undefined;
  }
  if (!/^https?:\/\//.test(url)) {
    context.logger.warn(`secret ${secretName} is not an http(s) URL; no Slack notification sent`);
    return undefined;
  }
  const payload = slackMessage(event, { project: context.project.name, ...info });
  const result = await postWebhook(url, payload, { ...deliveryOptions(section, context.signal), ...(fetch ? { fetch } : {}) });
  if (result.ok) context.logger.debug(`Slack notified (${event}, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'})`);
  else context.logger.warn(`Slack notification not delivered (${event}): ${result.error} after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`);
  return result;
}

export function createSlackPlugin(options: SlackPluginOptions = {}): Plugin<SlackSection> {
  const timeoutMs = hookTimeout();
  const host = (context: SlackContext) => context.project.target;
  return {
    name: 'slack',
    version: '1.0.0',
    apiVersion: '1.2',
    description: 'Posts to a Slack webhook when a host is provisioned, a watched GPU becomes available, a container starts, a sync completes or a step fails.',
    config: { key: 'slack', schema: slackSectionSchema },
    hooks: {
      notify: {
        timeoutMs,
        handler: async ({ event, message }, context) => void (await notify(context, event, { detail: message }, options.fetch)),
      },
      provisionComplete: {
        timeoutMs,
        handler: async ({ instance }, context) => void (await notify(context, 'provision_complete', { host: instance.host, detail: `${instance.provider} ${instance.instanceType ?? ''}`.trim() }, options.fetch)),
      },
      containerStart: {
        timeoutMs,
        handler: async ({ container }, context) => void (await notify(context, 'container_start', withHost(host(context), { detail: `container ${container.name} (${container.action})` }), options.fetch)),
      },
      afterSync: {
        timeoutMs,
        handler: async ({ sync, result }, context) => {
          if (sync.dryRun) return;
          const detail = `${result.filesTransferred} file${result.filesTransferred === 1 ? '' : 's'}, ${formatBytes(result.bytes)} in ${(result.durationMs / 1000).toFixed(1)} s`;
          await notify(context, 'sync_complete', { host: sync.target, detail }, options.fetch);
        },
      },
      shutdown: {
        timeoutMs,
        handler: async ({ command, ok, error }, context) => {
          if (ok) return;
          const what = error ? `${error.code ? `${error.code}: ` : ''}${error.message}` : 'failed';
          await notify(context, 'failure', withHost(host(context), { detail: `\`mltoolbox ${command}\` — ${what}` }), options.fetch);
        },
      },
    },
  };
}

function withHost(host: string | undefined, info: Omit<SlackMessageInfo, 'project' | 'host'>): Omit<SlackMessageInfo, 'project'> {
  return host === undefined ? info : { ...info, host };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
