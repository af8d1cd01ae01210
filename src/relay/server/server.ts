import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as z from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { agentMessage, CloseCode, containerInfo, metricsSample, parseFrame, PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol.ts';
import { RelayHub, type Peer } from './hub.ts';
import type { RelayStore } from './store.ts';
import { presentedToken, tokenId, tokenMatches, type TokenRecord, type TokenScope } from './tokens.ts';
import { DASHBOARD_CSP, dashboardHtml, dashboardScript } from './dashboard.ts';
import { OperationsBoard } from './operations.ts';

/**
 * The relay's HTTP and WebSocket server: fastify (routing, schema validation
 * through zod, an OpenAPI document generated from the same schemas by
 * @fastify/swagger) and @fastify/websocket (ws) for agents and dashboards.
 *
 * Every route under /api needs a token; only `/` (the dashboard's login
 * page, no data) is public. Agent tokens reach only the agent socket, as
 * their own host. Requests are logged without headers or query strings.
 */
export interface RelayServerOptions {
  store: RelayStore;
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  /** One line per request/event, never a secret. */
  log: (line: string) => void;
  version: string;
  /** How often a socket's token is checked again (revocation closes live sockets). */
  revalidateMs?: number;
  /** How often agents are pinged; one missed pong closes the socket. */
  pingMs?: number;
}

export interface RunningRelay {
  url: string;
  hub: RelayHub;
  operations: OperationsBoard;
  app: FastifyInstance;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: TokenRecord;
  }
  interface FastifyContextConfig {
    /** Who may call the route; the auth hook enforces it. Routes without it are public. */
    scope?: TokenScope;
  }
}

const hostName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/);
const containerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/);
const hostView = z.object({
  name: z.string(),
  online: z.boolean(),
  hostname: z.string().nullable(),
  agentVersion: z.string().nullable(),
  connectedAt: z.number().nullable(),
  lastSeen: z.number().nullable(),
  firstSeenAt: z.string().nullable(),
  metrics: metricsSample.nullable(),
  containers: z.array(containerInfo),
});
const operationKind = z.enum(['connect', 'sync', 'provision']);
const operationError = z.object({ code: z.string().max(64), message: z.string().max(4000), hint: z.string().max(4000).optional() });
const operationView = z.object({
  id: z.string(), kind: z.string(), title: z.string(), target: z.string().nullable(), owner: z.string(),
  state: z.enum(['running', 'succeeded', 'failed', 'lost']), createdAt: z.string(), updatedAt: z.string(), finishedAt: z.string().nullable(),
  progress: z.string().nullable(), percent: z.number().nullable(), exitCode: z.number().nullable(), result: z.unknown(),
  error: operationError.nullable(), worker: z.object({ machine: z.string(), pid: z.number() }).nullable(), events: z.number(),
});
const operationEvent = z.object({ seq: z.number(), at: z.number(), level: z.enum(['info', 'warn', 'success', 'task', 'progress', 'done', 'failed']), text: z.string() });
/** A provisioned instance as the CLI reports it from its ledger (src/db instances). */
export const instanceReport = z.object({
  name: z.string().max(128),
  backend: z.string().max(64),
  instanceType: z.string().max(128),
  gpu: z.string().max(128),
  gpuCount: z.number().int().min(0).max(1024),
  region: z.string().max(128),
  state: z.string().max(32),
  pricePerHour: z.number().min(0).max(100_000),
  /** When it started billing (ISO), and when it stopped (null: still up). */
  since: z.string().max(40),
  endedAt: z.string().max(40).nullable(),
  spendUsd: z.number().min(0),
  idleTimeoutMinutes: z.number().int().nullable(),
  idleAction: z.string().max(32).nullable(),
  /** Minutes until the idle action, when the host agent measures it; null: unknown. */
  idleMinutesLeft: z.number().nullable(),
});
export type InstanceReport = z.infer<typeof instanceReport>;
const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const resultBody = z.object({ ok: z.boolean(), exitCode: z.number().optional(), output: z.string().optional(), error: z.object({ code: z.string(), message: z.string() }).optional() });

export async function startRelayServer(options: RelayServerOptions): Promise<RunningRelay> {
  const [{ default: Fastify }, { default: websocket }, { default: swagger }, zodProvider] = await Promise.all([
    import('fastify'), import('@fastify/websocket'), import('@fastify/swagger'), import('fastify-type-provider-zod'),
  ]);
  const { store, log } = options;
  const hub = new RelayHub({
    onHostSeen: (host, hello) => void store.upsertHost({ name: host, hostname: hello.hostname, agentVersion: hello.version }, new Date().toISOString()).catch((error) => log(`store: ${String(error)}`)),
  });
  const operations = new OperationsBoard(store, (operation) => hub.publish({ type: 'operation', operation }));
  const app = Fastify({
    logger: false,
    bodyLimit: 1_048_576,
    ...(options.tls ? { https: { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } } : {}),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(zodProvider.validatorCompiler);
  app.setSerializerCompiler(zodProvider.serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: { title: 'mltoolbox relay', version: options.version, description: 'Hosts, live metrics, containers and logs. Every route needs `Authorization: Bearer <token>`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: zodProvider.jsonSchemaTransform,
  });
  await app.register(websocket, {
    options: {
      maxPayload: 2_000_000,
      // Browsers offer [SUBPROTOCOL, bearer.<token>]: answer with ours, never echo the token.
      handleProtocols: (protocols: Set<string>) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    },
  });

  const authenticate = async (request: FastifyRequest): Promise<TokenRecord | undefined> => {
    const presented = presentedToken(request.headers);
    const id = presented === undefined ? undefined : tokenId(presented);
    if (presented === undefined || id === undefined) return undefined;
    const record = await store.findToken(id);
    if (!record || record.revokedAt !== null || !tokenMatches(presented, record)) return undefined;
    return record;
  };
  const lastTouched = new Map<string, number>();
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const scope = request.routeOptions.config.scope;
    const known = request.routeOptions.url !== undefined;
    if (scope === undefined && known) return;
    // Unknown routes answer 401 too without a token: no probing which paths exist.
    const record = await authenticate(request);
    if (!record) return reply.code(401).header('www-authenticate', 'Bearer realm="mltoolbox-relay"').send({ error: { code: 'UNAUTHORIZED', message: 'a valid relay token is required' } });
    if (scope !== undefined && record.scope !== scope) return reply.code(403).send({ error: { code: 'FORBIDDEN', message: `this route needs a ${scope} token` } });
    request.token = record;
    if (!known) return;
    // last_used_at: at most once a minute per token, off the request's path.
    const now = Date.now();
    if ((lastTouched.get(record.id) ?? 0) < now - 60_000) {
      lastTouched.set(record.id, now);
      void store.touchToken(record.id, new Date(now).toISOString()).catch(() => {});
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    log(`${request.method} ${request.routeOptions.url ?? '(unknown route)'} ${reply.statusCode}`);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } }));

  // Still valid? Sockets live for days; a revoked token must not keep one open.
  const revalidate = (record: TokenRecord, close: () => void) => {
    const timer = setInterval(() => {
      void store.findToken(record.id).then((now) => {
        if (!now || now.revokedAt !== null) close();
      }, () => {});
    }, options.revalidateMs ?? 30_000);
    timer.unref();
    return () => clearInterval(timer);
  };

  const peerOf = (socket: import('ws').WebSocket): Peer => ({
    send: (text) => {
      if (socket.readyState === socket.OPEN) socket.send(text);
    },
    close: (code, reason) => socket.close(code, reason),
    bufferedAmount: () => socket.bufferedAmount,
  });

  // --- the dashboard (public page; its data needs a token) -------------------
  const staticFile = (type: string, body: string) => async (_request: FastifyRequest, reply: FastifyReply) => reply
    .header('content-type', type)
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(body);
  app.get('/', { schema: { hide: true } }, staticFile('text/html; charset=utf-8', dashboardHtml()));
  app.get('/dashboard.js', { schema: { hide: true } }, staticFile('text/javascript; charset=utf-8', dashboardScript()));

  // --- JSON API ---------------------------------------------------------------
  const user = { config: { scope: 'user' as const } };
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/api/v1/openapi.json', { ...user, schema: { hide: true } }, async () => app.swagger());

  api.get('/api/v1/whoami', { ...user, schema: { summary: 'The token in use', response: { 200: z.object({ name: z.string(), scope: z.enum(['user', 'agent']), relayVersion: z.string() }) } } },
    async (request) => ({ name: request.token!.name, scope: request.token!.scope, relayVersion: options.version }));

  const hostsView = async () => {
    const known = await store.listHosts();
    const names = new Set([...known.map((h) => h.name), ...hub.hosts().map((h) => h.name)]);
    return [...names].sort().map((name) => ({ ...hub.view(name), firstSeenAt: known.find((h) => h.name === name)?.firstSeenAt ?? null, hostname: hub.view(name).hostname ?? known.find((h) => h.name === name)?.hostname ?? null }));
  };

  api.get('/api/v1/hosts', { ...user, schema: { summary: 'Every host that ever connected, with live figures', response: { 200: z.object({ hosts: z.array(hostView) }) } } },
    async () => ({ hosts: await hostsView() }));

  api.get('/api/v1/hosts/:host', {
    ...user,
    schema: { summary: 'One host, with its metrics history (charts)', params: z.object({ host: hostName }), response: { 200: hostView.extend({ history: z.array(metricsSample) }), 404: errorBody } },
  }, async (request, reply) => {
    const host = (await hostsView()).find((h) => h.name === request.params.host);
    if (!host) return reply.code(404).send({ error: { code: 'HOST_NOT_FOUND', message: `no host named ${request.params.host} has connected` } });
    return { ...host, history: hub.history(host.name) };
  });

  const containerParams = z.object({ host: hostName, container: containerName });
  const agentResult = async (reply: FastifyReply, host: string, promise: ReturnType<RelayHub['request']>) => {
    const result = await promise;
    const status = result.ok ? 200 : result.error?.code === 'HOST_OFFLINE' ? 503 : result.error?.code === 'CONTAINER_NOT_FOUND' ? 404 : result.error?.code === 'TIMEOUT' ? 504 : 502;
    log(`agent ${host}: ${result.ok ? 'ok' : result.error?.code}`);
    return reply.code(status).send({ ok: result.ok, ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }), ...(result.output === undefined ? {} : { output: result.output }), ...(result.error ? { error: result.error } : {}) });
  };

  api.post('/api/v1/hosts/:host/containers/:container/exec', {
    ...user,
    schema: {
      summary: 'Run a command (argv, no shell) in one of the host\'s mltoolbox containers',
      params: containerParams,
      body: z.object({ argv: z.array(z.string().max(8192)).min(1).max(256), timeoutMs: z.number().int().min(1).max(600_000).default(60_000) }),
      response: { 200: resultBody, 404: resultBody, 502: resultBody, 503: resultBody, 504: resultBody },
    },
  }, async (request, reply) => agentResult(reply, request.params.host, hub.request(request.params.host, { action: 'exec', container: request.params.container, argv: request.body.argv, timeoutMs: request.body.timeoutMs }, request.body.timeoutMs + 5000)));

  api.post('/api/v1/hosts/:host/containers/:container/stop', {
    ...user,
    schema: { summary: 'Stop one of the host\'s mltoolbox containers', params: containerParams, response: { 200: resultBody, 404: resultBody, 502: resultBody, 503: resultBody, 504: resultBody } },
  }, async (request, reply) => agentResult(reply, request.params.host, hub.request(request.params.host, { action: 'stop', container: request.params.container }, 30_000)));

  api.get('/api/v1/hosts/:host/containers/:container/logs', {
    ...user,
    schema: { summary: 'The last lines of a container\'s log (follow them over /api/v1/events)', params: containerParams, querystring: z.object({ tail: z.coerce.number().int().min(0).max(10_000).default(200) }), response: { 200: resultBody, 404: resultBody, 502: resultBody, 503: resultBody, 504: resultBody } },
  }, async (request, reply) => agentResult(reply, request.params.host, hub.request(request.params.host, { action: 'logs', container: request.params.container, tail: request.query.tail, follow: false }, 15_000)));

  api.get('/api/v1/tokens', {
    ...user,
    schema: { summary: 'Tokens (names, scopes, dates; never the tokens)', response: { 200: z.object({ tokens: z.array(z.object({ id: z.string(), name: z.string(), scope: z.string(), host: z.string().nullable(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() })) }) } },
  }, async () => ({ tokens: (await store.listTokens()).map(({ hash: _hash, ...rest }) => rest) }));

  api.get('/api/v1/stats', {
    ...user,
    schema: { summary: 'Relay health: connections, messages, dropped frames, memory', response: { 200: z.object({ agents: z.number(), viewers: z.number(), dropped: z.number(), messages: z.number(), rssBytes: z.number(), store: z.string(), schemaVersion: z.number() }) } },
  }, async () => ({ ...hub.stats(), rssBytes: process.memoryUsage.rss(), store: store.kind, schemaVersion: store.schemaVersion }));

  // --- operations (docs/relay.md#operations) ----------------------------------------
  const operationParams = z.object({ id: z.string().regex(/^op-[a-f0-9]{8}$/) });
  const notFound = (id: string) => ({ error: { code: 'OPERATION_NOT_FOUND', message: `no operation ${id}` } });
  api.post('/api/v1/operations', {
    ...user,
    schema: {
      summary: 'Register an operation (a CLI worker about to run connect, sync or provision)',
      body: z.object({ kind: operationKind, title: z.string().min(1).max(1000), target: z.string().max(256).nullable().default(null), worker: z.object({ machine: z.string().max(256), pid: z.number().int() }).nullable().default(null) }),
      response: { 201: operationView },
    },
  }, async (request, reply) => reply.code(201).send(await operations.create(request.body, { name: request.token!.name, id: request.token!.id })));

  api.get('/api/v1/operations', {
    ...user,
    schema: { summary: 'Operations, newest first', querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }), response: { 200: z.object({ operations: z.array(operationView) }) } },
  }, async (request) => ({ operations: await operations.list(request.query.limit) }));

  api.get('/api/v1/operations/:id', {
    ...user,
    schema: { summary: 'One operation: state, progress and, once finished, its result', params: operationParams, response: { 200: operationView, 404: errorBody } },
  }, async (request, reply) => {
    const found = await operations.get(request.params.id);
    return found ? found : reply.code(404).send(notFound(request.params.id));
  });

  api.get('/api/v1/operations/:id/events', {
    ...user,
    schema: {
      summary: 'Progress events after `after`; waits up to `waitMs` for one (long poll)',
      params: operationParams,
      querystring: z.object({ after: z.coerce.number().int().min(0).default(0), waitMs: z.coerce.number().int().min(0).max(30_000).default(0) }),
      response: { 200: z.object({ operation: operationView, events: z.array(operationEvent) }), 404: errorBody },
    },
  }, async (request, reply) => {
    const found = await operations.events(request.params.id, request.query.after, request.query.waitMs);
    return found ? found : reply.code(404).send(notFound(request.params.id));
  });

  api.post('/api/v1/operations/:id/events', {
    ...user,
    schema: {
      summary: 'A worker reports progress (and, last, its result); only the token that registered the operation may',
      params: operationParams,
      body: z.object({
        events: z.array(z.object({ level: z.enum(['info', 'warn', 'success', 'task', 'progress']), text: z.string().max(4000), percent: z.number().min(0).max(100).optional() })).max(500),
        done: z.object({ ok: z.boolean(), exitCode: z.number().int(), result: z.unknown().optional(), error: operationError.optional() }).optional(),
      }),
      response: { 200: z.object({ ok: z.boolean() }), 403: errorBody, 404: errorBody, 409: errorBody },
    },
  }, async (request, reply) => {
    const outcome = await operations.report(request.params.id, request.token!.id, request.body.events, request.body.done as Parameters<OperationsBoard['report']>[3]);
    if (outcome === 'not-found') return reply.code(404).send(notFound(request.params.id));
    if (outcome === 'forbidden') return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'only the token that registered the operation may report it' } });
    if (outcome === 'finished') return reply.code(409).send({ error: { code: 'OPERATION_FINISHED', message: `operation ${request.params.id} has finished` } });
    return { ok: true };
  });

  // --- provisioned instances, as the CLIs report them from their ledgers ------------------
  api.put('/api/v1/instances', {
    ...user,
    schema: { summary: 'Replace the instances this token reports (its CLI\'s provisioning ledger)', body: z.object({ instances: z.array(instanceReport).max(1000) }), response: { 200: z.object({ count: z.number() }) } },
  }, async (request) => ({ count: hub.reportInstances(request.token!.name, request.body.instances) }));

  api.get('/api/v1/instances', {
    ...user,
    schema: { summary: 'Provisioned instances: $/h, spend, idle timer (as last reported)', response: { 200: z.object({ instances: z.array(instanceReport.extend({ reportedBy: z.string(), reportedAt: z.number() })) }) } },
  }, async () => ({ instances: hub.instances() }));

  // --- WebSockets ----------------------------------------------------------------
  app.get('/api/v1/agent', { websocket: true, config: { scope: 'agent' }, schema: { hide: true } }, (socket, request) => {
    const record = request.token!;
    const host = record.host!;
    const peer = peerOf(socket);
    let attached = false;
    const stop = revalidate(record, () => socket.close(CloseCode.unauthorized, 'token revoked'));
    const helloTimer = setTimeout(() => { if (!attached) socket.close(CloseCode.badMessage, 'expected hello'); }, 10_000);
    // A host that vanished (power, network) answers no ping: drop it so the dashboard shows it offline.
    let alive = true;
    socket.on('pong', () => { alive = true; });
    const pinger = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, options.pingMs ?? 30_000);
    pinger.unref();
    socket.on('message', (data, isBinary) => {
      const message = parseFrame(agentMessage, isBinary ? undefined : data.toString());
      if (!message) {
        socket.close(CloseCode.badMessage, 'invalid message');
        return;
      }
      if (message.type === 'hello') {
        if (message.protocol !== PROTOCOL_VERSION) {
          socket.close(CloseCode.badMessage, `protocol ${message.protocol} not supported (relay speaks ${PROTOCOL_VERSION})`);
          return;
        }
        clearTimeout(helloTimer);
        attached = true;
        hub.attachAgent(host, peer, { hostname: message.hostname, version: message.version });
        log(`agent ${host} connected (mlt ${message.version})`);
        return;
      }
      if (attached) hub.fromAgent(host, message);
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      clearInterval(pinger);
      stop();
      if (attached) {
        hub.detachAgent(host, peer);
        log(`agent ${host} disconnected`);
      }
    });
  });

  const viewerMessage = z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('follow'), host: hostName, container: containerName, tail: z.number().int().min(0).max(10_000).default(100) }),
    z.strictObject({ type: z.literal('unfollow'), stream: z.string().max(64) }),
  ]);
  app.get('/api/v1/events', { websocket: true, config: { scope: 'user' }, schema: { hide: true } }, (socket, request) => {
    const peer = peerOf(socket);
    const stop = revalidate(request.token!, () => socket.close(CloseCode.unauthorized, 'token revoked'));
    hub.attachViewer(peer, operations.recent());
    socket.on('message', (data, isBinary) => {
      const message = parseFrame(viewerMessage, isBinary ? undefined : data.toString());
      if (!message) return;
      if (message.type === 'follow') hub.follow(peer, message.host, message.container, message.tail);
      else hub.unfollow(peer, message.stream);
    });
    socket.on('close', () => {
      stop();
      hub.detachViewer(peer);
    });
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`,
    hub,
    operations,
    app,
    async close() {
      hub.closeAll();
      operations.closeAll();
      await app.close();
      await store.close();
    },
  };
}
