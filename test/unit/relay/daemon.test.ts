import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readDaemonSettings } from '../../../src/agent/daemon/command.ts';
import { agentSocketUrl, backoffDelay } from '../../../src/agent/daemon/daemon.ts';
import { createDemuxer, createLineSplitter } from '../../../src/agent/daemon/docker.ts';
import { cpuPercent, parseMeminfo, parseProcStat } from '../../../src/agent/daemon/metrics.ts';
import { parseFrame, agentMessage } from '../../../src/relay/protocol.ts';

const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('mlt daemon parts', () => {
  it('CPU from two /proc/stat readings, memory from /proc/meminfo', () => {
    const before = parseProcStat('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n');
    const after = parseProcStat('cpu  150 0 150 900 0 0 0 0 0 0\n');
    assert.deepEqual(before, { idle: 800, total: 1000 });
    assert.equal(cpuPercent(before, after), 50);
    assert.equal(cpuPercent(undefined, after), null);
    assert.equal(cpuPercent(after, after), null);
    assert.equal(parseProcStat('garbage'), undefined);
    assert.deepEqual(parseMeminfo('MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n'), { usedBytes: 750 * 1024, totalBytes: 1000 * 1024 });
    assert.equal(parseMeminfo('MemTotal: 1 kB\n'), undefined);
  });

  it('demultiplexes Docker frames split anywhere, and splits lines across chunks', () => {
    const got: string[] = [];
    const splitter = createLineSplitter((lines) => got.push(...lines));
    const feed = createDemuxer((payload) => splitter.push(payload));
    const bytes = Buffer.concat([frame(1, 'one\ntw'), frame(2, 'o\r\nthree'), frame(1, '\n')]);
    for (let i = 0; i < bytes.length; i += 3) feed(bytes.subarray(i, i + 3));
    splitter.flush();
    assert.deepEqual(got, ['one', 'two', 'three']);
  });

  it('backs off exponentially with jitter, bounded', () => {
    const bounds = { initial: 500, max: 30_000 };
    assert.equal(backoffDelay(0, bounds, () => 0), 250);
    assert.equal(backoffDelay(0, bounds, () => 1), 500);
    assert.equal(backoffDelay(3, bounds, () => 1), 4000);
    assert.equal(backoffDelay(50, bounds, () => 1), 30_000);
    for (let i = 0; i < 100; i++) assert.ok(backoffDelay(i, bounds) <= 30_000);
  });

  it('dials ws(s)://…/api/v1/agent on the relay\'s origin', () => {
    assert.equal(agentSocketUrl('http://127.0.0.1:7878'), 'ws://127.0.0.1:7878/api/v1/agent');
    assert.equal(agentSocketUrl('https://relay.lab/base/'), 'wss://relay.lab/api/v1/agent');
  });

  it('reads the relay URL and token from its file or the environment, never from argv', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-daemon-'));
    const file = join(dir, 'relay-agent.json');
    writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:1', token: 'from-file' }));
    assert.deepEqual(readDaemonSettings(['--config', file, '--interval', '0.5'], {}), { url: 'http://127.0.0.1:1', token: 'from-file', intervalMs: 500 });
    assert.deepEqual(readDaemonSettings([], { MLT_RELAY_URL: 'https://r', MLT_RELAY_TOKEN: 't' }), { url: 'https://r', token: 't', intervalMs: 2000 });
    assert.throws(() => readDaemonSettings(['--token', 'x'], { MLT_RELAY_URL: 'https://r', MLT_RELAY_TOKEN: 't' }), /Unknown option '--token'/);
    assert.throws(() => readDaemonSettings(['--config', join(dir, 'missing.json')], {}), /relay add-host/);
    assert.throws(() => readDaemonSettings([], { MLT_RELAY_URL: 'ftp://x', MLT_RELAY_TOKEN: 't' }), /no relay URL/);
    assert.throws(() => readDaemonSettings(['--interval', '0'], { MLT_RELAY_URL: 'https://r', MLT_RELAY_TOKEN: 't' }), /--interval/);
  });

  it('the wire protocol refuses what is not a valid message', () => {
    assert.deepEqual(parseFrame(agentMessage, '{"type":"heartbeat","at":1}'), { type: 'heartbeat', at: 1 });
    for (const bad of ['', 'nope', '{"type":"heartbeat"}', '{"type":"heartbeat","at":1,"extra":true}', '{"type":"log","id":"x","lines":[1]}', 42]) {
      assert.equal(parseFrame(agentMessage, bad), undefined, String(bad));
    }
  });
});
