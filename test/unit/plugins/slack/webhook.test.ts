import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { slackMessage } from '../../../../src/plugins/slack/messages.ts';
import { postWebhook, type FetchLike } from '../../../../src/plugins/slack/webhook.ts';

const URL_SECRET = 'https://hooks.slack.example/services/T000/B000/SECRET';

function fakeFetch(answers: Array<number | Error | 'hang'>) {
  const calls: Array<{ url: string; body: string }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, body: init.body });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    if (answer === 'hang') {
      return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true }));
    }
    if (answer instanceof Error) throw answer;
    return { status: answer };
  };
  return { fetch, calls };
}

const sleeps: number[] = [];
const base = { attempts: 3, timeoutMs: 1_000, backoffMs: 100, deadlineMs: 10_000, sleep: async (ms: number) => void sleeps.push(ms) };

describe('postWebhook', () => {
  it('delivers on the first 2xx', async () => {
    const { fetch, calls } = fakeFetch([200]);
    const result = await postWebhook(URL_SECRET, { text: 'hi' }, { ...base, fetch });
    assert.deepEqual(result, { ok: true, attempts: 1, status: 200 });
    assert.deepEqual(JSON.parse(calls[0]!.body), { text: 'hi' });
  });

  it('retries 5xx and network errors with growing backoff, then succeeds', async () => {
    sleeps.length = 0;
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const { fetch, calls } = fakeFetch([500, refused, 200]);
    const result = await postWebhook(URL_SECRET, { text: 'hi' }, { ...base, fetch });
    assert.deepEqual(result, { ok: true, attempts: 3, status: 200 });
    assert.equal(calls.length, 3);
    assert.deepEqual(sleeps, [100, 200]);
  });

  it('gives up after the bounded number of attempts', async () => {
    const { fetch, calls } = fakeFetch([503]);
    const result = await postWebhook(URL_SECRET, {}, { ...base, fetch });
    assert.deepEqual(result, { ok: false, attempts: 3, status: 503, error: 'HTTP 503' });
    assert.equal(calls.length, 3);
  });

  it('does not retry a 4xx other than 429', async () => {
    const { fetch, calls } = fakeFetch([404, 200]);
    const result = await postWebhook(URL_SECRET, {}, { ...base, fetch });
    assert.equal(result.ok, false);
    assert.equal(calls.length, 1);
    const limited = fakeFetch([429, 200]);
    assert.equal((await postWebhook(URL_SECRET, {}, { ...base, fetch: limited.fetch })).ok, true);
  });

  it('a hanging server costs one timeout per attempt, and the error never names the URL', async () => {
    const { fetch, calls } = fakeFetch(['hang']);
    const started = Date.now();
    const result = await postWebhook(URL_SECRET, {}, { ...base, timeoutMs: 50, fetch });
    assert.equal(result.ok, false);
    assert.equal(calls.length, 3);
    assert.match(result.error!, /no answer within 50 ms/);
    assert.ok(Date.now() - started < 2_000);
    assert.ok(!JSON.stringify(result).includes('SECRET'));
  });

  it('stops at the overall deadline', async () => {
    let clock = 0;
    const { fetch, calls } = fakeFetch([500]);
    const result = await postWebhook(URL_SECRET, {}, {
      ...base, attempts: 10, deadlineMs: 250, fetch, now: () => clock, sleep: async (ms) => void (clock += ms),
    });
    assert.equal(result.ok, false);
    assert.ok(calls.length < 10);
    assert.match(result.error!, /gave up after 250 ms/);
  });

  it('an aborted hook signal cancels without another attempt', async () => {
    const controller = new AbortController();
    controller.abort();
    const { fetch, calls } = fakeFetch([200]);
    const result = await postWebhook(URL_SECRET, {}, { ...base, fetch, signal: controller.signal });
    assert.equal(result.ok, false);
    assert.equal(calls.length, 0);
  });
});

describe('slackMessage', () => {
  it('names the event, project and host', () => {
    assert.deepEqual(slackMessage('container_start', { project: 'demo', host: 'gpu1' }), { text: ':rocket: Dev container started: *demo* on `gpu1`' });
    assert.deepEqual(slackMessage('failure', { project: 'demo', detail: 'sync: rsync exited 23' }), { text: ':x: mltoolbox step failed: *demo*\nsync: rsync exited 23' });
  });
});
