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
