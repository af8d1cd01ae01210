import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createToken, openRelayStore, revokeToken } from '../../../src/relay/admin.ts';
import { SUBPROTOCOL } from '../../../src/relay/protocol.ts';
import { startRelayServer } from '../../../src/relay/server/server.ts';

/** The server on loopback with a real SQLite store: what only a live socket can show. */
describe('relay server', () => {
  it('closes a live socket once its token is revoked; agents are refused bad frames', async () => {
    const store = await openRelayStore({ dataDir: mkdtempSync(join(tmpdir(), 'mlt-relay-server-')) });
    const lines: string[] = [];
    const relay = await startRelayServer({ store, host: '127.0.0.1', port: 0, log: (l) => lines.push(l), version: 'test', revalidateMs: 100 });
    try {
      const user = await createToken(store, { name: 'viewer', scope: 'user' }, new Date());
      const agent = await createToken(store, { name: 'agent@box', scope: 'agent', host: 'box' }, new Date());
      const ws = relay.url.replace(/^http/, 'ws');
      const viewer = new WebSocket(`${ws}/api/v1/events`, [SUBPROTOCOL, `bearer.${user.token}`]);
      const firstEvent = await new Promise<{ type: string }>((resolve, reject) => {
        viewer.onmessage = (e) => resolve(JSON.parse(String(e.data)) as { type: string });
        viewer.onerror = () => reject(new Error('viewer refused'));
      });
      assert.equal(firstEvent.type, 'snapshot');
      const closed = new Promise<number>((resolve) => (viewer.onclose = (e) => resolve(e.code)));
      await revokeToken(store, 'viewer', new Date());
      assert.equal(await closed, 4401);

      // An agent that sends garbage is cut off (4400), before or after its hello.
      const bad = new WebSocket(`${ws}/api/v1/agent`, { protocols: [SUBPROTOCOL], headers: { authorization: `Bearer ${agent.token}` } } as unknown as string[]);
      await new Promise((resolve) => (bad.onopen = resolve));
      const badClosed = new Promise<number>((resolve) => (bad.onclose = (e) => resolve(e.code)));
      bad.send('{"type":"metrics","sample":"not a sample"}');
      assert.equal(await badClosed, 4400);
      assert.ok(!lines.join('\n').includes(user.token) && !lines.join('\n').includes(agent.token));
    } finally {
      await relay.close();
    }
  });

  it('validates with the generated JSON Schemas: frames (strict), bodies and queries (400), defaults applied, answers serialized', async () => {
    const store = await openRelayStore({ dataDir: mkdtempSync(join(tmpdir(), 'mlt-relay-server-')) });
    const relay = await startRelayServer({ store, host: '127.0.0.1', port: 0, log: () => {}, version: 'test' });
    try {
      const user = await createToken(store, { name: 'cli', scope: 'user' }, new Date());
      const agent = await createToken(store, { name: 'agent@box', scope: 'agent', host: 'box' }, new Date());
      const api = (path: string, init: RequestInit = {}) => fetch(`${relay.url}${path}`, { ...init, headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' } });
      const socket = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/api/v1/agent`, { protocols: [SUBPROTOCOL], headers: { authorization: `Bearer ${agent.token}` } } as unknown as string[]);
      await new Promise((resolve) => (socket.onopen = resolve));
      const closed = new Promise<number>((resolve) => (socket.onclose = (e) => resolve(e.code)));
      socket.send(JSON.stringify({ type: 'hello', protocol: 1, version: '0.3.0', hostname: 'box.local', startedAt: Date.now() }));
      const gpu = { index: 0, uuid: 'GPU-1', name: 'H100', utilizationPercent: 42, memoryUsedMiB: 1, memoryTotalMiB: 80, temperatureC: 50, powerDrawW: null, powerLimitW: null };
      socket.send(JSON.stringify({ type: 'metrics', sample: { at: 1, cpuPercent: 3, memoryUsedBytes: 1, memoryTotalBytes: 2, gpus: [gpu] } }));
      let host: { online: boolean; metrics: { gpus: { utilizationPercent: number }[] } | null; history: unknown[] } | undefined;
      for (let i = 0; i < 50 && !host?.metrics; i++) {
        host = await (await api('/api/v1/hosts/box')).json() as typeof host;
        if (!host?.metrics) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(host!.online, true);
      assert.equal(host!.metrics!.gpus[0]!.utilizationPercent, 42);
      // A property the protocol does not know is refused like garbage (the schemas are strict).
      socket.send(JSON.stringify({ type: 'heartbeat', at: 2, extra: true }));
      assert.equal(await closed, 4400);

      assert.equal((await api('/api/v1/hosts/box/containers/c1/exec', { method: 'POST', body: JSON.stringify({ argv: [] }) })).status, 400);
      assert.equal((await api('/api/v1/hosts/bad%20name')).status, 400);
      assert.equal((await api('/api/v1/operations?limit=abc')).status, 400);
      const created = await api('/api/v1/operations', { method: 'POST', body: JSON.stringify({ kind: 'sync', title: 'sync box' }) });
      assert.equal(created.status, 201);
      const operation = await created.json() as { id: string; target: unknown; state: string };
      assert.deepEqual([operation.target, operation.state], [null, 'running']);
      const listed = await (await api('/api/v1/operations?limit=5')).json() as { operations: { id: string }[] };
      assert.deepEqual(listed.operations.map((o) => o.id), [operation.id]);
      const tokens = await (await api('/api/v1/tokens')).text();
      assert.ok(!tokens.includes('hash') && tokens.includes('agent@box'));
      const openapi = await (await api('/api/v1/openapi.json')).json() as { info: { version: string }; paths: Record<string, unknown> };
      assert.equal(openapi.info.version, 'test');
      assert.ok(openapi.paths['/api/v1/operations/{id}/events']);
    } finally {
      await relay.close();
    }
  });

  it('serves HTTPS and WSS with the given certificate; tokens still required', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-relay-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const store = await openRelayStore({ dataDir: dir });
    const relay = await startRelayServer({ store, host: '127.0.0.1', port: 0, tls: { cert, key }, log: () => {}, version: 'test' });
    try {
      assert.match(relay.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const user = await createToken(store, { name: 'tls', scope: 'user' }, new Date());
      const ca = readFileSync(cert);
      const get = (headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
        https.get(`${relay.url}/api/v1/whoami`, { ca, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(await get({}), 401);
      assert.equal(await get({ authorization: `Bearer ${user.token}` }), 200);
      // Plain HTTP to the TLS port gets nothing useful.
      await assert.rejects(fetch(relay.url.replace('https:', 'http:') + '/api/v1/whoami', { headers: { authorization: `Bearer ${user.token}` } }).then((r) => { if (r.status === 200) throw new Error('no'); throw new Error('refused'); }));
    } finally {
      await relay.close();
    }
  });
});
