import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HookObject } from '../../../../src/plugin-api/index.ts';
import { createSlackPlugin, deliveryOptions, type SlackSection } from '../../../../src/plugins/slack/index.ts';
import type { FetchLike } from '../../../../src/plugins/slack/webhook.ts';
import { fakeContext } from '../fake-context.ts';

const WEBHOOK = 'https://hooks.slack.example/services/T0/B0/secretpart';

function recordingFetch(statuses: number[]) {
  const posts: Array<{ url: string; body: unknown }> = [];
  const fetch: FetchLike = async (url, init) => {
    posts.push({ url, body: JSON.parse(init.body) });
    return { status: statuses[Math.min(posts.length - 1, statuses.length - 1)]! };
  };
  return { fetch, posts };
}

const container = { id: 'c1', name: 'mlt-demo', image: 'img', action: 'created' as const, ports: [], workdir: '/workspace' };

describe('slack plugin', () => {
  it('container start posts to the webhook from the default secret', async () => {
    const { fetch, posts } = recordingFetch([200]);
    const plugin = createSlackPlugin({ fetch });
    const fake = fakeContext<SlackSection>({ section: {}, secrets: { slack_webhook: WEBHOOK }, target: 'gpu-box' });
    await (plugin.hooks!.containerStart as HookObject<'containerStart', SlackSection>).handler({ container, config: {} }, fake.context);
    assert.deepEqual(posts, [{ url: WEBHOOK, body: { text: ':rocket: Dev container started: *demo* on `gpu-box`\ncontainer mlt-demo (created)' } }]);
  });

  it('sync complete, provision complete and failures notify; success and dry runs do not', async () => {
    const { fetch, posts } = recordingFetch([200]);
    const plugin = createSlackPlugin({ fetch });
    const fake = fakeContext<SlackSection>({ section: { secret: 'team_hook' }, secrets: { team_hook: WEBHOOK } });
    const hooks = plugin.hooks!;
    const sync = { target: 'gpu-box', localDir: '/l', remoteDir: '/r', dryRun: false };
    const result = { filesTransferred: 3, bytes: 2048, deleted: 0, durationMs: 1500 };
    await (hooks.afterSync as HookObject<'afterSync', SlackSection>).handler({ sync, result }, fake.context);
    await (hooks.afterSync as HookObject<'afterSync', SlackSection>).handler({ sync: { ...sync, dryRun: true }, result }, fake.context);
    await (hooks.provisionComplete as HookObject<'provisionComplete', SlackSection>).handler({ instance: { provider: 'lambda', id: 'i-1', host: '1.2.3.4', instanceType: 'gpu_1x_a100' } }, fake.context);
    await (hooks.shutdown as HookObject<'shutdown', SlackSection>).handler({ command: 'connect', ok: true }, fake.context);
    await (hooks.shutdown as HookObject<'shutdown', SlackSection>).handler({ command: 'sync', ok: false, error: { code: 'SYNC_FAILED', message: 'rsync exited 23' } }, fake.context);
    assert.deepEqual(posts.map((p) => (p.body as { text: string }).text), [
      ':arrows_counterclockwise: Project synced: *demo* on `gpu-box`\n3 files, 2.0 KiB in 1.5 s',
      ':white_check_mark: GPU host provisioned: *demo* on `1.2.3.4`\nlambda gpu_1x_a100',
      ':x: mltoolbox step failed: *demo*\n`mltoolbox sync` — SYNC_FAILED: rsync exited 23',
    ]);
  });

  it('events: limits what notifies', async () => {
    const { fetch, posts } = recordingFetch([200]);
    const plugin = createSlackPlugin({ fetch });
    const fake = fakeContext<SlackSection>({ section: { events: ['failure'] }, secrets: { slack_webhook: WEBHOOK } });
    await (plugin.hooks!.containerStart as HookObject<'containerStart', SlackSection>).handler({ container, config: {} }, fake.context);
    assert.equal(posts.length, 0);
  });

  it('a failed delivery is a warning naming neither URL nor secret value', async () => {
    const { fetch, posts } = recordingFetch([500]);
    const plugin = createSlackPlugin({ fetch });
    const fake = fakeContext<SlackSection>({ section: { backoff_ms: 0 }, secrets: { slack_webhook: WEBHOOK } });
    await (plugin.hooks!.containerStart as HookObject<'containerStart', SlackSection>).handler({ container, config: {} }, fake.context);
    assert.equal(posts.length, 3);
    assert.ok(fake.logs.includes('warn: Slack notification not delivered (container_start): HTTP 500 after 3 attempts'));
    assert.ok(!fake.logs.some((l) => l.includes('secretpart')));
  });

  it('no webhook secret: a warning naming the command that sets it, nothing posted', async () => {
    const { fetch, posts } = recordingFetch([200]);
    const plugin = createSlackPlugin({ fetch });
    const fake = fakeContext<SlackSection>({});
    await (plugin.hooks!.containerStart as HookObject<'containerStart', SlackSection>).handler({ container, config: {} }, fake.context);
    assert.ok(fake.logs.includes('warn: no Slack webhook: secret slack_webhook is not set (mltoolbox secret set slack_webhook)'));
    assert.equal(posts.length, 0);
  });

  it('the deadline covers every attempt and wait, and the hook limit is above it', () => {
    const options = deliveryOptions(undefined, new AbortController().signal);
    assert.deepEqual({ attempts: options.attempts, timeoutMs: options.timeoutMs, backoffMs: options.backoffMs, deadlineMs: options.deadlineMs }, { attempts: 3, timeoutMs: 5000, backoffMs: 500, deadlineMs: 16_800 });
    const limit = (createSlackPlugin().hooks!.containerStart as HookObject<'containerStart', SlackSection>).timeoutMs!;
    assert.ok(limit > options.deadlineMs);
  });
});
