import { hostname } from 'node:os';
import { parseFrame, PROTOCOL_VERSION, relayRequest, SUBPROTOCOL, type AgentMessage, type ContainerInfo, type MetricsSample, type RelayRequest } from '../../relay/protocol.ts';
import { dockerSocket, execInContainer, findManagedContainer, listManagedContainers, stopContainer, streamLogs, type DockerSocket } from './docker.ts';
import { createSampler } from './metrics.ts';

/**
 * `mlt daemon`: dials out to the relay (hosts behind NAT work), says hello
 * with its host token, then sends metrics every interval, its mltoolbox
 * containers whenever they change, heartbeats, and answers the relay's
 * exec / logs / stop requests for those containers only. The connection
 * comes back by itself: bounded exponential backoff with jitter.
 */
export interface DaemonOptions {
  url: string;
  token: string;
  intervalMs: number;
  heartbeatMs?: number;
  env: NodeJS.ProcessEnv;
  version: string;
  log: (line: string) => void;
  signal: AbortSignal;
  /** Tests: a sampler and docker socket of their own. */
  sample?: () => Promise<MetricsSample>;
  docker?: DockerSocket;
  /** Backoff bounds (ms). */
  backoff?: { initial: number; max: number };
}

export function backoffDelay(attempt: number, bounds: { initial: number; max: number }, random: () => number = Math.random): number {
  const base = Math.min(bounds.max, bounds.initial * 2 ** Math.min(attempt, 20));
  // Full jitter in the upper half: many agents reconnecting after a relay restart spread out.
  return Math.round(base / 2 + random() * (base / 2));
}

/** The WebSocket URL of the agent endpoint, from the relay's base URL. */
export function agentSocketUrl(relayUrl: string): string {
  const url = new URL('/api/v1/agent', relayUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Runs until the signal aborts. Resolves; errors are logged and retried. */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const docker = options.docker ?? dockerSocket(options.env);
  const sampler = options.sample ?? createSampler(options.env);
  // The first sample (nvidia-smi, /proc, Docker) is taken while the socket connects, so metrics follow hello at once.
  let primed: Promise<MetricsSample> | undefined = sampler();
  const sample = () => {
    const next = primed ?? sampler();
    primed = undefined;
    return next;
  };
  const bounds = options.backoff ?? { initial: 500, max: 30_000 };
  let attempt = 0;
  while (!options.signal.aborted) {
    const outcome = await connectOnce(options, docker, sample);
    if (options.signal.aborted) break;
    if (outcome.fatal) {
      options.log(`relay refused this agent: ${outcome.reason}; retrying slowly (check the token: mltoolbox relay add-host issues a new one)`);
      attempt = Math.max(attempt, 6);
    } else if (outcome.wasUp) {
      attempt = 0;
    }
    const delay = backoffDelay(attempt++, bounds);
    options.log(`relay connection ${outcome.wasUp ? 'lost' : 'failed'} (${outcome.reason}); reconnecting in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function connectOnce(options: DaemonOptions, docker: DockerSocket, sample: () => Promise<MetricsSample>): Promise<{ wasUp: boolean; fatal: boolean; reason: string }> {
  return new Promise((resolve) => {
    // Node's WebSocket (undici) takes headers: the token travels in Authorization, never in the URL.
    const socket = new WebSocket(agentSocketUrl(options.url), { protocols: [SUBPROTOCOL], headers: { authorization: `Bearer ${options.token}` } } as unknown as string[]);
    const timers: NodeJS.Timeout[] = [];
    const work = new Map<string, AbortController>();
    let up = false;
    let lastContainers = '';
    let sampling = false;

    const send = (message: AgentMessage) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    const finish = (reason: string, fatal = false) => {
      for (const timer of timers) clearInterval(timer);
      for (const controller of work.values()) controller.abort();
      work.clear();
      options.signal.removeEventListener('abort', onAbort);
      resolve({ wasUp: up, fatal, reason });
    };
    const onAbort = () => socket.close(1000, 'daemon stopping');
    options.signal.addEventListener('abort', onAbort, { once: true });

    const tick = async () => {
      if (sampling) return;
      sampling = true;
      try {
        send({ type: 'metrics', sample: await sample() });
        const containers: ContainerInfo[] = await listManagedContainers(docker).catch(() => []);
        const text = JSON.stringify(containers);
        if (text !== lastContainers) {
          lastContainers = text;
          send({ type: 'containers', containers });
        }
      } catch (error) {
        options.log(`metrics: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        sampling = false;
      }
    };

    socket.addEventListener('open', () => {
      up = true;
      options.log(`connected to ${new URL(options.url).origin}`);
      send({ type: 'hello', protocol: PROTOCOL_VERSION, version: options.version, hostname: hostname(), startedAt: Date.now() });
      void tick();
      timers.push(setInterval(() => void tick(), options.intervalMs));
      timers.push(setInterval(() => send({ type: 'heartbeat', at: Date.now() }), options.heartbeatMs ?? 15_000));
    });
    socket.addEventListener('message', (event) => {
      const request = parseFrame(relayRequest, event.data);
      if (request) void handle(request);
    });
    socket.addEventListener('close', (event) => {
      const fatal = event.code === 4401 || event.code === 4403 || event.code === 1002;
      finish(`${event.code}${event.reason ? ` ${event.reason}` : ''}`, fatal);
    });
    socket.addEventListener('error', () => {
      // 'close' follows with the details.
    });

    const handle = async (request: RelayRequest) => {
      if (request.action === 'cancel') {
        work.get(request.target)?.abort();
        work.delete(request.target);
        return;
      }
      const controller = new AbortController();
      work.set(request.id, controller);
      try {
        const container = await findManagedContainer(docker, request.container);
        if (!container) {
          send({ type: 'result', id: request.id, ok: false, error: { code: 'CONTAINER_NOT_FOUND', message: `no mltoolbox container '${request.container}' on this host` } });
          return;
        }
        if (request.action === 'stop') {
          await stopContainer(docker, container.id);
          send({ type: 'result', id: request.id, ok: true });
          lastContainers = '';
          void tick();
        } else if (request.action === 'exec') {
          const { exitCode, output } = await execInContainer(docker, container.id, request.argv, { timeoutMs: request.timeoutMs, maxBytes: 1_000_000, signal: controller.signal });
          send({ type: 'result', id: request.id, ok: true, exitCode, output });
        } else {
          // Lines go out in batches: at most every 100 ms, at most 500 per frame.
          let batch: string[] = [];
          const flush = () => {
            while (batch.length) send({ type: 'log', id: request.id, lines: batch.splice(0, 500).map((l) => l.slice(0, 16_384)) });
          };
          const flusher = setInterval(flush, 100);
          try {
            await streamLogs(docker, container, { tail: request.tail, follow: request.follow, signal: controller.signal, onLines: (lines) => void batch.push(...lines) });
          } finally {
            clearInterval(flusher);
            flush();
            batch = [];
          }
          send({ type: 'result', id: request.id, ok: true });
        }
      } catch (error) {
        if (!controller.signal.aborted) send({ type: 'result', id: request.id, ok: false, error: { code: 'DOCKER_ERROR', message: (error instanceof Error ? error.message : String(error)).slice(0, 2000) } });
      } finally {
        work.delete(request.id);
      }
    };
  });
}
