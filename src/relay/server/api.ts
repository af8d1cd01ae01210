import * as z from 'zod';
import { agentMessage, containerInfo, metricsSample } from '../protocol.ts';

/**
 * The relay's HTTP API and its WebSocket messages, defined once with zod.
 *
 * Build-time only: `node scripts/relay-api.mjs` (run by `npm run build`)
 * turns these into JSON Schemas (api.generated.json, which fastify validates
 * and serializes with its own ajv) and the OpenAPI document
 * (openapi.generated.json, by @fastify/swagger). The running relay imports
 * only types from here, so zod never loads in it (docs/relay.md#memory).
 * test/unit/relay/api.test.ts keeps the generated files in step.
 */
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
  state: z.enum(['running', 'cancelling', 'succeeded', 'failed', 'cancelled', 'lost']), createdAt: z.string(), updatedAt: z.string(), finishedAt: z.string().nullable(),
  progress: z.string().nullable(), percent: z.number().nullable(), exitCode: z.number().nullable(), result: z.unknown(),
  error: operationError.nullable(), worker: z.object({ machine: z.string(), pid: z.number() }).nullable(), events: z.number(),
  cancelRequestedAt: z.string().nullable(), cancelledBy: z.string().nullable(),
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
const agentAnswers = { 200: resultBody, 404: resultBody, 502: resultBody, 503: resultBody, 504: resultBody };
const containerParams = z.object({ host: hostName, container: containerName });
const operationParams = z.object({ id: z.string().regex(/^op-[a-f0-9]{8}$/) });

interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  summary: string;
  params?: z.ZodType;
  querystring?: z.ZodType;
  body?: z.ZodType;
  response: Record<number, z.ZodType>;
}

/** Every JSON route; all of them need a user token. */
export const routes = {
  whoami: { method: 'GET', url: '/api/v1/whoami', summary: 'The token in use', response: { 200: z.object({ name: z.string(), scope: z.enum(['user', 'agent']), relayVersion: z.string() }) } },
  hosts: { method: 'GET', url: '/api/v1/hosts', summary: 'Every host that ever connected, with live figures', response: { 200: z.object({ hosts: z.array(hostView) }) } },
  host: {
    method: 'GET', url: '/api/v1/hosts/:host', summary: 'One host, with its metrics history (charts)',
    params: z.object({ host: hostName }), response: { 200: hostView.extend({ history: z.array(metricsSample) }), 404: errorBody },
  },
  exec: {
    method: 'POST', url: '/api/v1/hosts/:host/containers/:container/exec', summary: 'Run a command (argv, no shell) in one of the host\'s mltoolbox containers',
    params: containerParams,
    body: z.object({ argv: z.array(z.string().max(8192)).min(1).max(256), timeoutMs: z.number().int().min(1).max(600_000).default(60_000) }),
    response: agentAnswers,
  },
  stop: { method: 'POST', url: '/api/v1/hosts/:host/containers/:container/stop', summary: 'Stop one of the host\'s mltoolbox containers', params: containerParams, response: agentAnswers },
  logs: {
    method: 'GET', url: '/api/v1/hosts/:host/containers/:container/logs', summary: 'The last lines of a container\'s log (follow them over /api/v1/events)',
    params: containerParams, querystring: z.object({ tail: z.coerce.number().int().min(0).max(10_000).default(200) }), response: agentAnswers,
  },
  tokens: {
    method: 'GET', url: '/api/v1/tokens', summary: 'Tokens (names, scopes, dates; never the tokens)',
    response: { 200: z.object({ tokens: z.array(z.object({ id: z.string(), name: z.string(), scope: z.string(), host: z.string().nullable(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() })) }) },
  },
  stats: {
    method: 'GET', url: '/api/v1/stats', summary: 'Relay health: connections, messages, dropped frames, memory',
    response: { 200: z.object({ agents: z.number(), viewers: z.number(), dropped: z.number(), messages: z.number(), rssBytes: z.number(), store: z.string(), schemaVersion: z.number() }) },
  },
  createOperation: {
    method: 'POST', url: '/api/v1/operations', summary: 'Register an operation (a CLI worker about to run connect, sync or provision)',
    body: z.object({ kind: operationKind, title: z.string().min(1).max(1000), target: z.string().max(256).nullable().default(null), worker: z.object({ machine: z.string().max(256), pid: z.number().int() }).nullable().default(null) }),
    response: { 201: operationView },
  },
  operations: {
    method: 'GET', url: '/api/v1/operations', summary: 'Operations, newest first',
    querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }), response: { 200: z.object({ operations: z.array(operationView) }) },
  },
  operation: {
    method: 'GET', url: '/api/v1/operations/:id', summary: 'One operation: state, progress and, once finished, its result',
    params: operationParams, response: { 200: operationView, 404: errorBody },
  },
  operationEvents: {
    method: 'GET', url: '/api/v1/operations/:id/events', summary: 'Progress events after `after`; waits up to `waitMs` for one (long poll)',
    params: operationParams,
    querystring: z.object({ after: z.coerce.number().int().min(0).default(0), waitMs: z.coerce.number().int().min(0).max(30_000).default(0) }),
    response: { 200: z.object({ operation: operationView, events: z.array(operationEvent) }), 404: errorBody },
  },
  reportOperation: {
    method: 'POST', url: '/api/v1/operations/:id/events', summary: 'A worker reports progress (and, last, its result); only the token that registered the operation may',
    params: operationParams,
    body: z.object({
      events: z.array(z.object({ level: z.enum(['info', 'warn', 'success', 'task', 'progress']), text: z.string().max(4000), percent: z.number().min(0).max(100).optional() })).max(500),
      done: z.object({ ok: z.boolean(), exitCode: z.number().int(), result: z.unknown().optional(), error: operationError.optional() }).optional(),
    }),
    response: { 200: z.object({ ok: z.boolean() }), 403: errorBody, 404: errorBody, 409: errorBody },
  },
  cancelOperation: {
    method: 'POST', url: '/api/v1/operations/:id/cancel',
    summary: 'Ask a running operation to stop: its worker is told at once and stops the work the way Ctrl-C would (a provision terminates what it launched); 409 once it has finished',
    params: operationParams, response: { 202: operationView, 404: errorBody, 409: errorBody },
  },
  operationCancel: {
    method: 'GET', url: '/api/v1/operations/:id/cancel', summary: 'For the worker: whether the operation was asked to stop; waits up to `waitMs` for it (long poll)',
    params: operationParams,
    querystring: z.object({ waitMs: z.coerce.number().int().min(0).max(30_000).default(0) }),
    response: { 200: z.object({ requested: z.boolean(), by: z.string().nullable() }), 404: errorBody },
  },
  reportInstances: {
    method: 'PUT', url: '/api/v1/instances', summary: 'Replace the instances this token reports (its CLI\'s provisioning ledger)',
    body: z.object({ instances: z.array(instanceReport).max(1000) }), response: { 200: z.object({ count: z.number() }) },
  },
  instances: {
    method: 'GET', url: '/api/v1/instances', summary: 'Provisioned instances: $/h, spend, idle timer (as last reported)',
    response: { 200: z.object({ instances: z.array(instanceReport.extend({ reportedBy: z.string(), reportedAt: z.number() })) }) },
  },
} as const satisfies Record<string, RouteDefinition>;

export type RouteName = keyof typeof routes;
type Part<R, K extends string> = R extends Record<K, z.ZodType> ? z.output<R[K]> : unknown;
/** A route's request types, for fastify's RouteGenericInterface. */
export interface RouteTypes<N extends RouteName> {
  Params: Part<(typeof routes)[N], 'params'>;
  Querystring: Part<(typeof routes)[N], 'querystring'>;
  Body: Part<(typeof routes)[N], 'body'>;
}

/** What a dashboard sends on /api/v1/events (no `tail`: 100 lines). */
export const viewerMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('follow'), host: hostName, container: containerName, tail: z.number().int().min(0).max(10_000).optional() }),
  z.strictObject({ type: z.literal('unfollow'), stream: z.string().max(64) }),
]);
export type ViewerMessage = z.infer<typeof viewerMessage>;

/** The WebSocket messages the relay validates on arrival. */
export const messages = { agentMessage, viewerMessage };
