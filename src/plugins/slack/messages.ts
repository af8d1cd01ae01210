/** Slack message texts; plain `text` payloads work with every incoming webhook. */

export const SLACK_EVENTS = ['provision_complete', 'container_start', 'sync_complete', 'failure', 'gpu_available'] as const;
export type SlackEvent = (typeof SLACK_EVENTS)[number];

export interface SlackMessageInfo {
  project: string;
  /** The remote host the event happened on, when there is one. */
  host?: string;
  /** One extra line (e.g. what failed). Must never carry a secret. */
  detail?: string;
}

const HEADLINES: Record<SlackEvent, string> = {
  provision_complete: ':white_check_mark: GPU host provisioned',
  container_start: ':rocket: Dev container started',
  sync_complete: ':arrows_counterclockwise: Project synced',
  failure: ':x: mltoolbox step failed',
  gpu_available: ':eyes: GPU available',
};

export function slackMessage(event: SlackEvent, info: SlackMessageInfo): { text: string } {
  const where = info.host ? ` on \`${info.host}\`` : '';
  const lines = [`${HEADLINES[event]}: *${info.project}*${where}`];
  if (info.detail) lines.push(info.detail);
  return { text: lines.join('\n') };
}
