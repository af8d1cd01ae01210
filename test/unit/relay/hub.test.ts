import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayHub, type Peer } from '../../../src/relay/server/hub.ts';
import type { MetricsSample } from '../../../src/relay/protocol.ts';

function peer(buffered = 0): Peer & { sent: Record<string, unknown>[]; closed?: number } {
  const sent: Record<string, unknown>[] = [];
  const self: Peer & { sent: Record<string, unknown>[]; closed?: number } = {
    sent,
    send: (text) => void sent.push(JSON.parse(text) as Record<string, unknown>),
    close: (code) => { self.closed = code; },
    bufferedAmount: () => buffered,
  };
  return self;
}

const sample = (at: number): MetricsSample => ({ at, cpuPercent: 5, memoryUsedBytes: 1, memoryTotalBytes: 2, gpus: [] });
const hello = { hostname: 'h', version: '1.0.0' };

describe('relay hub', () => {
  it('fans metrics out to every viewer and keeps a bounded history', () => {
    const hub = new RelayHub();
    const agent = peer();
    const viewers = [peer(), peer()];
    for (const v of viewers) hub.attachViewer(v);
    hub.attachAgent('gpu', agent, hello);
    for (let i = 0; i < 310; i++) hub.fromAgent('gpu', { type: 'metrics', sample: sample(i) });
    for (const v of viewers) assert.equal(v.sent.filter((e) => e.type === 'metrics').length, 310);
    assert.equal(hub.history('gpu').length, 300);
    assert.equal(hub.history('gpu')[0]!.at, 10);
    assert.equal(hub.view('gpu').metrics!.at, 309);
    assert.equal(hub.stats().dropped, 0);
  });

  it('drops metrics (counted) for a viewer far behind, never for others', () => {
    const hub = new RelayHub();
    const slow = peer(64 * 1024 * 1024);
    const fast = peer();
    hub.attachViewer(slow);
    hub.attachViewer(fast);
    hub.attachAgent('gpu', peer(), hello);
    hub.fromAgent('gpu', { type: 'metrics', sample: sample(1) });
    assert.equal(slow.sent.filter((e) => e.type === 'metrics').length, 0);
    assert.equal(fast.sent.filter((e) => e.type === 'metrics').length, 1);
    assert.equal(hub.stats().dropped, 1);
  });

  it('a second connection for a host replaces the first; messages from the old one are ignored', () => {
    const hub = new RelayHub();
    const first = peer();
    const second = peer();
    hub.attachAgent('gpu', first, hello);
    hub.attachAgent('gpu', second, hello);
    assert.equal(first.closed, 4409);
    hub.detachAgent('gpu', first);
    assert.equal(hub.isOnline('gpu'), true, 'the old socket closing does not take the host offline');
    hub.detachAgent('gpu', second);
    assert.equal(hub.view('gpu').online, false);
  });

  it('requests resolve with the agent\'s result, time out, or end when the agent leaves', async () => {
    const hub = new RelayHub();
    const agent = peer();
    hub.attachAgent('gpu', agent, hello);
    const pending = hub.request('gpu', { action: 'exec', container: 'c1', argv: ['true'], timeoutMs: 1000 }, 1000);
    const sent = agent.sent.at(-1)!;
    assert.equal(sent.action, 'exec');
    hub.fromAgent('gpu', { type: 'result', id: 'someone-else', ok: true });
    hub.fromAgent('gpu', { type: 'result', id: sent.id as string, ok: true, exitCode: 0, output: 'ok' });
    assert.deepEqual(await pending, { type: 'result', id: sent.id, ok: true, exitCode: 0, output: 'ok' });

    const timedOut = await hub.request('gpu', { action: 'stop', container: 'c1' }, 20);
    assert.equal(timedOut.error?.code, 'TIMEOUT');
    assert.equal(agent.sent.at(-1)!.action, 'cancel', 'the agent is told to stop the work');

    const orphan = hub.request('gpu', { action: 'logs', container: 'c1', tail: 5, follow: false }, 1000);
    hub.detachAgent('gpu', agent);
    assert.equal((await orphan).error?.code, 'AGENT_DISCONNECTED');
    assert.equal((await hub.request('gpu', { action: 'stop', container: 'c1' }, 1000)).error?.code, 'HOST_OFFLINE');
  });

  it('log follow streams to the viewer that asked, and a leaving viewer cancels its streams', () => {
    const hub = new RelayHub();
    const agent = peer();
    const viewer = peer();
    const other = peer();
    hub.attachViewer(viewer);
    hub.attachViewer(other);
    hub.attachAgent('gpu', agent, hello);
    const id = hub.follow(viewer, 'gpu', 'c1', 10)!;
    assert.deepEqual(agent.sent.at(-1), { type: 'request', id, action: 'logs', container: 'c1', tail: 10, follow: true });
    hub.fromAgent('gpu', { type: 'log', id, lines: ['a', 'b'] });
    assert.deepEqual(viewer.sent.filter((e) => e.type === 'log'), [{ type: 'log', stream: id, lines: ['a', 'b'] }]);
    assert.equal(other.sent.filter((e) => e.type === 'log').length, 0);
    hub.detachViewer(viewer);
    assert.deepEqual({ ...agent.sent.at(-1), id: undefined }, { type: 'request', id: undefined, action: 'cancel', target: id });
    assert.equal(hub.follow(viewer, 'nowhere', 'c1', 10), undefined);
  });
});
