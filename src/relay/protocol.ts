import * as z from 'zod';

/**
 * The wire protocol between `mlt daemon` (on a host) and the relay, and
 * between the relay and dashboard clients. Its own module so the agent
 * bundle imports only this file from src/relay (the architecture test keeps
 * it that way). JSON text frames over one WebSocket; every frame is one of
 * the messages below, validated on arrival by both ends.
 *
 * agent → relay: hello (once), heartbeat, metrics, containers, log, result
 * relay → agent: request (exec | logs | stop | cancel)
 */
export { CloseCode, PROTOCOL_VERSION, SUBPROTOCOL } from './wire.ts';

export const gpuSample = z.strictObject({
  index: z.number().int(),
  uuid: z.string().max(128),
  name: z.string().max(200),
  utilizationPercent: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  memoryTotalMiB: z.number().nullable(),
  temperatureC: z.number().nullable(),
  powerDrawW: z.number().nullable(),
  powerLimitW: z.number().nullable(),
});
export type GpuSample = z.infer<typeof gpuSample>;

export const metricsSample = z.strictObject({
  /** Epoch milliseconds on the agent. */
  at: z.number(),
  cpuPercent: z.number().nullable(),
  memoryUsedBytes: z.number().nullable(),
  memoryTotalBytes: z.number().nullable(),
  gpus: z.array(gpuSample).max(64),
  /** Why there are no GPU figures (no driver, not installed), when there are none. */
  gpuNote: z.string().max(300).optional(),
});
export type MetricsSample = z.infer<typeof metricsSample>;

export const containerPort = z.strictObject({
  containerPort: z.number().int(),
  hostIp: z.string().max(64).optional(),
  hostPort: z.number().int().optional(),
  protocol: z.string().max(8),
});

export const containerInfo = z.strictObject({
  id: z.string().max(128),
  name: z.string().max(256),
  project: z.string().max(256),
  image: z.string().max(512),
  state: z.string().max(32),
  status: z.string().max(256),
  createdAt: z.number(),
  ports: z.array(containerPort).max(256),
});
export type ContainerInfo = z.infer<typeof containerInfo>;

const requestId = z.string().min(1).max(64);
const containerRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/);

export const agentMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), protocol: z.number().int(), version: z.string().max(64), hostname: z.string().max(256), startedAt: z.number() }),
  z.strictObject({ type: z.literal('heartbeat'), at: z.number() }),
  z.strictObject({ type: z.literal('metrics'), sample: metricsSample }),
  z.strictObject({ type: z.literal('containers'), containers: z.array(containerInfo).max(1000) }),
  z.strictObject({ type: z.literal('log'), id: requestId, lines: z.array(z.string().max(16_384)).max(1000) }),
  z.strictObject({
    type: z.literal('result'),
    id: requestId,
    ok: z.boolean(),
    exitCode: z.number().int().optional(),
    output: z.string().max(1_048_576).optional(),
    error: z.strictObject({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
  }),
]);
export type AgentMessage = z.infer<typeof agentMessage>;

export const relayRequest = z.discriminatedUnion('action', [
  z.strictObject({ type: z.literal('request'), id: requestId, action: z.literal('exec'), container: containerRef, argv: z.array(z.string().max(8192)).min(1).max(256), timeoutMs: z.number().int().min(1).max(600_000) }),
  z.strictObject({ type: z.literal('request'), id: requestId, action: z.literal('logs'), container: containerRef, tail: z.number().int().min(0).max(10_000), follow: z.boolean() }),
  z.strictObject({ type: z.literal('request'), id: requestId, action: z.literal('stop'), container: containerRef }),
  z.strictObject({ type: z.literal('request'), id: requestId, action: z.literal('cancel'), target: requestId }),
]);
export type RelayRequest = z.infer<typeof relayRequest>;

/** Parses one text frame; undefined for anything that is not a valid message (never throws). */
export function parseFrame<T>(schema: z.ZodType<T>, data: unknown): T | undefined {
  if (typeof data !== 'string' || data.length > 2_000_000) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
