import type { ContainerInfo, MetricsSample } from './protocol.ts';
import type { OperationEvent, OperationView } from './server/operations.ts';
import type { InstanceReport } from './server/api.ts';

export type { OperationEvent, OperationView } from './server/operations.ts';
export type { InstanceReport } from './server/api.ts';

/**
 * The CLI's side of the relay API: small, bounded requests (the CLI asks the
 * relay first and falls back to SSH, so a slow relay must cost at most the
 * timeout). Errors are returned as a reason, never thrown.
 */
export interface RelayHost {
  name: string;
  online: boolean;
  metrics: MetricsSample | null;
  containers: ContainerInfo[];
}

export type RelayAnswer<T> = { ok: true; value: T } | { ok: false; reason: string; status?: number };

/** Where the relay is and the user token the CLI presents; every call is bounded by `timeoutMs`. */
export interface RelayEndpoint {
  url: string;
  token: string;
  timeoutMs: number;
}

/** One JSON request to the relay; a reason instead of an exception for anything but a 2xx answer. */
export async function relayCall<T>(relay: RelayEndpoint, method: string, path: string, body?: unknown, timeoutMs = relay.timeoutMs, signal?: AbortSignal): Promise<RelayAnswer<T>> {
  let response: Response;
  try {
    response = await fetch(new URL(path, relay.url), {
      method,
      headers: { authorization: `Bearer ${relay.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    return { ok: false, reason: name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable' };
  }
  if (response.status === 401 || response.status === 403) return { ok: false, status: response.status, reason: 'the relay refused the token (mltoolbox secret set relay_token)' };
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    return { ok: false, status: response.status, reason: 'it sent an unreadable answer' };
  }
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message;
    return { ok: false, status: response.status, reason: message ? `it answered ${response.status}: ${message}` : `it answered ${response.status}` };
  }
  return { ok: true, value: parsed as T };
}

export async function fetchRelayHost(relay: RelayEndpoint, host: string): Promise<RelayAnswer<RelayHost>> {
  const answer = await relayCall<RelayHost>(relay, 'GET', `/api/v1/hosts/${encodeURIComponent(host)}`);
  if (!answer.ok) return answer.status === 404 ? { ok: false, status: 404, reason: `${host} has never connected to it (mltoolbox relay add-host ${host})` } : answer;
  if (!answer.value.online) return { ok: false, reason: `${host}'s agent is offline` };
  return answer;
}

/** The last `tail` lines of one of the host's mltoolbox containers, read by its agent. */
export async function fetchContainerLogs(relay: RelayEndpoint, host: string, container: string, tail: number): Promise<RelayAnswer<string>> {
  const answer = await relayCall<{ ok: boolean; output?: string; error?: { message: string } }>(relay, 'GET',
    `/api/v1/hosts/${encodeURIComponent(host)}/containers/${encodeURIComponent(container)}/logs?tail=${tail}`);
  return answer.ok ? { ok: true, value: answer.value.output ?? '' } : answer;
}

export function createOperation(relay: RelayEndpoint, request: { kind: string; title: string; target: string | null; worker: { machine: string; pid: number } }): Promise<RelayAnswer<OperationView>> {
  return relayCall<OperationView>(relay, 'POST', '/api/v1/operations', request);
}

export interface OperationReport {
  events: { level: 'info' | 'warn' | 'success' | 'task' | 'progress'; text: string; percent?: number }[];
  done?: { ok: boolean; exitCode: number; result?: unknown; error?: { code: string; message: string; hint?: string } };
}

export function reportOperation(relay: RelayEndpoint, id: string, report: OperationReport): Promise<RelayAnswer<{ ok: boolean }>> {
  return relayCall(relay, 'POST', `/api/v1/operations/${encodeURIComponent(id)}/events`, report);
}

export async function listOperations(relay: RelayEndpoint, limit: number): Promise<RelayAnswer<OperationView[]>> {
  const answer = await relayCall<{ operations: OperationView[] }>(relay, 'GET', `/api/v1/operations?limit=${limit}`);
  return answer.ok ? { ok: true, value: answer.value.operations } : answer;
}

/** Events after `after`, the relay holding the request up to `waitMs` until one arrives. */
export function operationEvents(relay: RelayEndpoint, id: string, after: number, waitMs: number): Promise<RelayAnswer<{ operation: OperationView; events: OperationEvent[] }>> {
  return relayCall(relay, 'GET', `/api/v1/operations/${encodeURIComponent(id)}/events?after=${after}&waitMs=${waitMs}`, undefined, waitMs + relay.timeoutMs + 5000);
}

/** `ops cancel`: asks the operation's worker to stop (409 once it has finished). */
export function cancelOperation(relay: RelayEndpoint, id: string): Promise<RelayAnswer<OperationView>> {
  return relayCall(relay, 'POST', `/api/v1/operations/${encodeURIComponent(id)}/cancel`);
}

/** The worker's long poll: whether its operation was asked to stop, the relay holding the request up to `waitMs`. */
export function cancelRequested(relay: RelayEndpoint, id: string, waitMs: number, signal?: AbortSignal): Promise<RelayAnswer<{ requested: boolean; by: string | null }>> {
  return relayCall(relay, 'GET', `/api/v1/operations/${encodeURIComponent(id)}/cancel?waitMs=${waitMs}`, undefined, waitMs + relay.timeoutMs + 5000, signal);
}

export function reportInstances(relay: RelayEndpoint, instances: InstanceReport[]): Promise<RelayAnswer<{ count: number }>> {
  return relayCall(relay, 'PUT', '/api/v1/instances', { instances });
}

/**
 * Follows a container's log through the relay's event socket (the agent
 * streams it) until `signal` aborts or the stream ends. Resolves `false`
 * when the stream did not start within the endpoint's bound (the caller
 * then asks the host itself), `true` once it ran.
 */
export async function followContainerLogs(relay: RelayEndpoint, host: string, container: string, tail: number, onLines: (lines: string[]) => void, signal: AbortSignal, startMs: number): Promise<{ started: boolean; reason?: string }> {
  const { SUBPROTOCOL } = await import('./protocol.ts');
  const url = new URL('/api/v1/events', relay.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve) => {
    // The token rides in the subprotocol list (an HTTP header of the upgrade), as the dashboard's does.
    const socket = new WebSocket(url, [SUBPROTOCOL, `bearer.${relay.token}`]);
    let started = false;
    let stream: string | undefined;
    const finish = (outcome: { started: boolean; reason?: string }) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(1000);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ started: false, reason: `no log stream within ${startMs} ms` }), startMs);
    const onAbort = () => finish({ started });
    signal.addEventListener('abort', onAbort);
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'follow', host, container, tail })));
    socket.addEventListener('error', () => finish({ started, reason: 'unreachable' }));
    socket.addEventListener('close', (event) => finish({ started, reason: event.code === 4401 ? 'the relay refused the token' : 'the relay closed the connection' }));
    socket.addEventListener('message', (event) => {
      let message: { type?: string; stream?: string; lines?: string[]; reason?: string; message?: string };
      try {
        message = JSON.parse(String(event.data)) as typeof message;
      } catch {
        return;
      }
      if (message.type === 'log-start' && stream === undefined) {
        stream = message.stream;
        started = true;
        clearTimeout(timer);
      } else if (message.type === 'log' && message.stream === stream && Array.isArray(message.lines)) {
        onLines(message.lines);
      } else if (message.type === 'log-end' && message.stream === stream) {
        finish({ started: true });
      } else if (message.type === 'error' && !started) {
        finish({ started: false, reason: message.message ?? 'refused' });
      }
    });
  });
}
