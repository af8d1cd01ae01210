import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression } from 'fastify';
import type { AgentMessage } from '../protocol.ts';
import { CloseCode, PROTOCOL_VERSION, SUBPROTOCOL } from '../wire.ts';
import type { RouteName, RouteTypes, ViewerMessage } from './api.ts';
import api from './api.generated.json' with { type: 'json' };
import { RelayHub, type Peer } from './hub.ts';
import type { RelayStore } from './store.ts';
import { presentedToken, tokenId, tokenMatches, type TokenRecord, type TokenScope } from './tokens.ts';
import { DASHBOARD_CSP, dashboardHtml, dashboardScript } from './dashboard.ts';
import { OperationsBoard } from './operations.ts';

/**
 * The relay's HTTP and WebSocket server: fastify (routing; validation and
 * serialization by its own ajv and fast-json-stringify) and
 * @fastify/websocket (ws) for agents and dashboards. The JSON Schemas and the
 * OpenAPI document are generated at build time from the zod definitions in
 * api.ts (scripts/relay-api.mjs): zod never loads here (docs/relay.md#memory).
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

export async function startRelayServer(options: RelayServerOptions): Promise<RunningRelay> {
  const [{ default: Fastify }, { default: websocket }, { default: ajvModule }] = await Promise.all([import('fastify'), import('@fastify/websocket'), import('ajv')]);
  // ajv is CommonJS: module.exports.default is the class under Node's loader and a bundler alike.
  const Ajv = ajvModule.default;
  const { store, log } = options;
  const hub = new RelayHub({
    onHostSeen: (host, hello) => void store.upsertHost({ name: host, hostname: hello.hostname, agentVersion: hello.version }, new Date().toISOString()).catch((error) => log(`store: ${String(error)}`)),
  });
  const operations = new OperationsBoard(store, (operation) => hub.publish({ type: 'operation', operation }));
  const app = Fastify({
    logger: false,
    bodyLimit: 1_048_576,
    ...(options.tls ? { https: { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } } : {}),
  });
  // WebSocket frames are checked by the same validator fastify uses for the routes' schemas (ajv; no coercion, no defaults).
  const ajv = new Ajv({ coerceTypes: false, allErrors: false });
  const validAgentMessage = ajv.compile<AgentMessage>(api.messages.agentMessage);
  const validViewerMessage = ajv.compile<ViewerMessage>(api.messages.viewerMessage);
  await app.register(websocket, {
    options: {
      maxPayload: 2_000_000,
      // ws's default, said out loud: compression would give every socket its own zlib contexts (~300 KiB each,
      // docs/relay.md#memory) for frames of a few KiB on a LAN.
      perMessageDeflate: false,
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
  app.get('/', staticFile('text/html; charset=utf-8', dashboardHtml()));
  app.get('/dashboard.js', staticFile('text/javascript; charset=utf-8', dashboardScript()));

  // --- JSON API ---------------------------------------------------------------
  const user = { config: { scope: 'user' as const } };
  /** A route of api.ts, with its generated schemas; every one needs a user token. */
  const route = <N extends RouteName>(name: N, handler: RouteHandlerMethod<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, RouteTypes<N>>) => {
    const { method, url, schema } = api.routes[name];
    app.route<RouteTypes<N>>({ method: method as 'GET', url, schema, ...user, handler });
  };

  // The OpenAPI document (@fastify/swagger's, generated with the schemas), read the first time it is asked for.
  let openapi: Promise<unknown> | undefined;
  app.get('/api/v1/openapi.json', user, async () => {
    openapi ??= import('./openapi.generated.json', { with: { type: 'json' } }).then(({ default: document }) => ({ ...document, info: { ...document.info, version: options.version } }));
    return openapi;
  });

  route('whoami', async (request) => ({ name: request.token!.name, scope: request.token!.scope, relayVersion: options.version }));

  const hostsView = async () => {
    const known = await store.listHosts();
    const names = new Set([...known.map((h) => h.name), ...hub.hosts().map((h) => h.name)]);
    return [...names].sort().map((name) => ({ ...hub.view(name), firstSeenAt: known.find((h) => h.name === name)?.firstSeenAt ?? null, hostname: hub.view(name).hostname ?? known.find((h) => h.name === name)?.hostname ?? null }));
  };

  route('hosts', async () => ({ hosts: await hostsView() }));

  route('host', async (request, reply) => {
    const host = (await hostsView()).find((h) => h.name === request.params.host);
    if (!host) return reply.code(404).send({ error: { code: 'HOST_NOT_FOUND', message: `no host named ${request.params.host} has connected` } });
    return { ...host, history: hub.history(host.name) };
  });

  const agentResult = async (reply: FastifyReply, host: string, promise: ReturnType<RelayHub['request']>) => {
    const result = await promise;
    const status = result.ok ? 200 : result.error?.code === 'HOST_OFFLINE' ? 503 : result.error?.code === 'CONTAINER_NOT_FOUND' ? 404 : result.error?.code === 'TIMEOUT' ? 504 : 502;
    log(`agent ${host}: ${result.ok ? 'ok' : result.error?.code}`);
    return reply.code(status).send({ ok: result.ok, ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }), ...(result.output === undefined ? {} : { output: result.output }), ...(result.error ? { error: result.error } : {}) });
  };

  route('exec', async (request, reply) => agentResult(reply, request.params.host, hub.request(request.params.host, { action: 'exec', container: request.params.container, argv: request.body.argv, timeoutMs: request.body.timeoutMs }, request.body.timeoutMs + 5000)));

  route('stop', async (request, reply) => agentResult(reply, request.params.host, hub.request(request.params.host, { action: 'stop', container: request.params.container }, 30_000)));

  route('logs', async (request, reply) => agentResult(reply, request.params.host, hub.request(request.params.host, { action: 'logs', container: request.params.container, tail: request.query.tail, follow: false }, 15_000)));

  route('tokens', async () => ({ tokens: (await store.listTokens()).map(({ hash: _hash, ...rest }) => rest) }));

  route('stats', async () => ({ ...hub.stats(), rssBytes: process.memoryUsage.rss(), store: store.kind, schemaVersion: store.schemaVersion }));

  // --- operations (docs/relay.md#operations) ----------------------------------------
  const notFound = (id: string) => ({ error: { code: 'OPERATION_NOT_FOUND', message: `no operation ${id}` } });
  route('createOperation', async (request, reply) => reply.code(201).send(await operations.create(request.body, { name: request.token!.name, id: request.token!.id })));

  route('operations', async (request) => ({ operations: await operations.list(request.query.limit) }));

  route('operation', async (request, reply) => {
    const found = await operations.get(request.params.id);
    return found ? found : reply.code(404).send(notFound(request.params.id));
  });

  route('operationEvents', async (request, reply) => {
    const found = await operations.events(request.params.id, request.query.after, request.query.waitMs);
    return found ? found : reply.code(404).send(notFound(request.params.id));
  });

  route('reportOperation', async (request, reply) => {
    const outcome = await operations.report(request.params.id, request.token!.id, request.body.events, request.body.done as Parameters<OperationsBoard['report']>[3]);
    if (outcome === 'not-found') return reply.code(404).send(notFound(request.params.id));
    if (outcome === 'forbidden') return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'only the token that registered the operation may report it' } });
    if (outcome === 'finished') return reply.code(409).send({ error: { code: 'OPERATION_FINISHED', message: `operation ${request.params.id} has finished` } });
    return { ok: true };
  });

  route('cancelOperation', async (request, reply) => {
    const { outcome, operation } = await operations.cancel(request.params.id, request.token!.name);
    if (outcome === 'not-found') return reply.code(404).send(notFound(request.params.id));
    if (outcome === 'finished') return reply.code(409).send({ error: { code: 'OPERATION_FINISHED', message: `operation ${request.params.id} has already ${operation!.state} (${operation!.finishedAt}): there is nothing to cancel` } });
    log(`operation ${request.params.id}: cancel requested by ${request.token!.name}`);
    return reply.code(202).send(operation);
  });

  route('operationCancel', async (request, reply) => {
    const found = await operations.cancelRequested(request.params.id, request.query.waitMs);
    return found ? found : reply.code(404).send(notFound(request.params.id));
  });

  // --- provisioned instances, as the CLIs report them from their ledgers ------------------
  route('reportInstances', async (request) => ({ count: hub.reportInstances(request.token!.name, request.body.instances) }));

  route('instances', async () => ({ instances: hub.instances() }));

  // --- WebSockets ----------------------------------------------------------------
  app.get('/api/v1/agent', { websocket: true, config: { scope: 'agent' } }, (socket, request) => {
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
      const message = isBinary ? undefined : parseFrame(validAgentMessage, data.toString());
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

  app.get('/api/v1/events', { websocket: true, config: { scope: 'user' } }, (socket, request) => {
    const peer = peerOf(socket);
    const stop = revalidate(request.token!, () => socket.close(CloseCode.unauthorized, 'token revoked'));
    hub.attachViewer(peer, operations.recent());
    socket.on('message', (data, isBinary) => {
      const message = isBinary ? undefined : parseFrame(validViewerMessage, data.toString());
      if (!message) return;
      if (message.type === 'follow') hub.follow(peer, message.host, message.container, message.tail ?? 100);
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

/** One text frame through a compiled validator; undefined for anything else (never throws). */
function parseFrame<T>(valid: ((data: unknown) => data is T), text: string): T | undefined {
  if (text.length > 2_000_000) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  return valid(json) ? json : undefined;
}
