// The floor under bench/relay.ts --compare: the least a Node relay can be — node:http, ws and ajv (what the
// relay's fastify stack is made of) with no framework, no database, no auth and no relay logic. It takes the
// bench's load (agents' metrics over /api/v1/agent, validated with the relay's own generated schema, fanned
// out to /api/v1/events) and answers GET /api/v1/stats. Not a product: a measuring stick for the relay's RSS.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import AjvModule from 'ajv';

const api = JSON.parse(readFileSync(new URL('../../src/relay/server/api.generated.json', import.meta.url), 'utf8'));
const Ajv = AjvModule.default ?? AjvModule;
const validAgentMessage = new Ajv({ coerceTypes: false }).compile(api.messages.agentMessage);
const viewers = new Set();
const server = createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(request.url === '/api/v1/stats' ? JSON.stringify({ dropped: 0 }) : JSON.stringify({ error: 'no such route' }));
});
const sockets = new WebSocketServer({ noServer: true, maxPayload: 2_000_000, handleProtocols: (protocols) => (protocols.has('mlt.relay.v1') ? 'mlt.relay.v1' : false) });
server.on('upgrade', (request, socket, head) => sockets.handleUpgrade(request, socket, head, (ws) => {
  if (request.url === '/api/v1/events') {
    viewers.add(ws);
    ws.on('close', () => viewers.delete(ws));
    return;
  }
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (!validAgentMessage(message) || message.type !== 'metrics') return;
    const text = JSON.stringify({ type: 'metrics', host: 'h', sample: message.sample });
    for (const viewer of viewers) viewer.send(text);
  });
}));
server.listen(0, '127.0.0.1', () => process.stdout.write(`relay listening on http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => process.exit(0));
