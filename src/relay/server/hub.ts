import { randomUUID } from 'node:crypto';
import type { AgentMessage, ContainerInfo, MetricsSample, RelayRequest } from '../protocol.ts';
import type { InstanceReport } from './api.ts';
import { MetricsHistory } from './metrics-history.ts';

/**
 * The relay's live state, in memory: which agents are connected, their
 * latest metrics (and a short history for charts), their containers, and
 * who follows which log stream. Dashboard clients get every change pushed.
 * Sockets are reduced to the two things the hub needs (send, close), so the
 * hub is tested without a network.
 */
export interface Peer {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued and not yet written; a dashboard far behind loses frames (counted). */
  bufferedAmount(): number;
}

interface AgentState {
  peer: Peer;
  hostname: string;
  version: string;
  connectedAt: number;
  lastSeen: number;
  history: MetricsHistory;
  containers: ContainerInfo[];
}

interface Pending {
  host: string;
  resolve(result: Extract<AgentMessage, { type: 'result' }>): void;
  timer: NodeJS.Timeout;
}

interface Stream {
  host: string;
  container: string;
  viewer: Peer;
}

export interface HostView {
  name: string;
  online: boolean;
  hostname: string | null;
  agentVersion: string | null;
  connectedAt: number | null;
  lastSeen: number | null;
  metrics: MetricsSample | null;
  containers: ContainerInfo[];
}

export interface HubStats {
  agents: number;
  viewers: number;
  /** Frames not sent to a dashboard client because it was too far behind. */
  dropped: number;
  messages: number;
}

type Distribute<T> = T extends unknown ? Omit<T, 'type' | 'id'> : never;
/** A request for an agent, before the hub gives it an id. */
export type AgentWork = Distribute<Extract<RelayRequest, { action: 'exec' | 'stop' | 'logs' }>>;

/** How many samples a host keeps for the dashboard's charts (at 1/s: five minutes). */
const HISTORY = 300;
/** A viewer with more than this queued gets no new metrics until it catches up. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export class RelayHub {
  private readonly agents = new Map<string, AgentState>();
  private readonly viewers = new Set<Peer>();
  private readonly pending = new Map<string, Pending>();
  private readonly streams = new Map<string, Stream>();
  private dropped = 0;
  private messages = 0;

  private readonly options: { onHostSeen?: (host: string, hello: { hostname: string; version: string }) => void };

  constructor(options: { onHostSeen?: (host: string, hello: { hostname: string; version: string }) => void } = {}) {
    this.options = options;
  }

  // --- agents --------------------------------------------------------------

  /** A host's agent connected (after its hello). A second connection for the same host replaces the first. */
  attachAgent(host: string, peer: Peer, hello: { hostname: string; version: string }): void {
    const previous = this.agents.get(host);
    if (previous && previous.peer !== peer) previous.peer.close(4409, 'replaced by a newer connection');
    const now = Date.now();
    this.agents.set(host, { peer, hostname: hello.hostname, version: hello.version, connectedAt: now, lastSeen: now, history: previous?.history ?? this.offline.get(host)?.history ?? new MetricsHistory(HISTORY), containers: previous?.containers ?? [] });
    this.options.onHostSeen?.(host, hello);
    this.broadcast({ type: 'host', host: this.view(host) });
  }

  detachAgent(host: string, peer: Peer): void {
    const state = this.agents.get(host);
    if (!state || state.peer !== peer) return;
    this.agents.delete(host);
    for (const [id, pending] of this.pending) {
      if (pending.host !== host) continue;
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.resolve({ type: 'result', id, ok: false, error: { code: 'AGENT_DISCONNECTED', message: `the agent on ${host} disconnected` } });
    }
    for (const [id, stream] of this.streams) {
      if (stream.host !== host) continue;
      this.streams.delete(id);
      this.sendTo(stream.viewer, { type: 'log-end', stream: id, reason: 'agent disconnected' });
    }
    this.offline.set(host, { hostname: state.hostname, version: state.version, lastSeen: state.lastSeen, history: state.history, containers: state.containers });
    this.broadcast({ type: 'host', host: this.view(host) });
  }

  /** Hosts that were online during this relay's life; keeps their last figures. */
  private readonly offline = new Map<string, { hostname: string; version: string; lastSeen: number; history: MetricsHistory; containers: ContainerInfo[] }>();

  fromAgent(host: string, message: AgentMessage): void {
    const state = this.agents.get(host);
    if (!state) return;
    this.messages += 1;
    state.lastSeen = Date.now();
    switch (message.type) {
      case 'hello':
      case 'heartbeat':
        return;
      case 'metrics':
        state.history.push(message.sample);
        this.broadcast({ type: 'metrics', host, sample: message.sample }, true);
        return;
      case 'containers':
        state.containers = message.containers;
        this.broadcast({ type: 'containers', host, containers: message.containers });
        return;
      case 'log': {
        const stream = this.streams.get(message.id);
        if (stream && stream.host === host) this.sendTo(stream.viewer, { type: 'log', stream: message.id, lines: message.lines });
        const pending = this.pending.get(message.id);
        if (pending && pending.host === host) this.collected.get(message.id)?.push(...message.lines);
        return;
      }
      case 'result': {
        const pending = this.pending.get(message.id);
        if (pending && pending.host === host) {
          clearTimeout(pending.timer);
          this.pending.delete(message.id);
          const lines = this.collected.get(message.id);
          this.collected.delete(message.id);
          pending.resolve(lines && message.output === undefined ? { ...message, output: lines.join('\n') } : message);
        }
        const stream = this.streams.get(message.id);
        if (stream && stream.host === host) {
          this.streams.delete(message.id);
          this.sendTo(stream.viewer, { type: 'log-end', stream: message.id, reason: message.ok ? 'ended' : message.error?.message ?? 'failed' });
        }
        return;
      }
    }
  }

  private readonly collected = new Map<string, string[]>();

  /** Sends a request to a host's agent and waits for its result (bounded). */
  request(host: string, request: AgentWork, timeoutMs: number): Promise<Extract<AgentMessage, { type: 'result' }>> {
    const state = this.agents.get(host);
    const id = randomUUID();
    if (!state) return Promise.resolve({ type: 'result', id, ok: false, error: { code: 'HOST_OFFLINE', message: `${host} has no agent connected` } });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.collected.delete(id);
        state.peer.send(JSON.stringify({ type: 'request', id: randomUUID(), action: 'cancel', target: id }));
        resolve({ type: 'result', id, ok: false, error: { code: 'TIMEOUT', message: `the agent on ${host} did not answer within ${timeoutMs} ms` } });
      }, timeoutMs);
      this.pending.set(id, { host, resolve, timer });
      if (request.action === 'logs') this.collected.set(id, []);
      state.peer.send(JSON.stringify({ ...request, type: 'request', id }));
    });
  }

  // --- dashboard viewers ---------------------------------------------------

  attachViewer(peer: Peer, operations: readonly unknown[] = []): void {
    this.viewers.add(peer);
    this.sendTo(peer, { type: 'snapshot', hosts: this.hosts(), instances: this.instances(), operations });
  }

  /** An event for every dashboard (operations progress). */
  publish(event: Record<string, unknown>): void {
    this.broadcast(event);
  }

  // --- provisioned instances (reported by CLIs) ------------------------------

  private readonly reported = new Map<string, { at: number; instances: InstanceReport[] }>();

  /** A CLI's whole ledger replaces what it reported before (so a terminated instance leaves too). */
  reportInstances(reporter: string, instances: InstanceReport[]): number {
    this.reported.set(reporter, { at: Date.now(), instances });
    this.broadcast({ type: 'instances', instances: this.instances() });
    return instances.length;
  }

  instances(): (InstanceReport & { reportedBy: string; reportedAt: number })[] {
    return [...this.reported].flatMap(([by, { at, instances }]) => instances.map((i) => ({ ...i, reportedBy: by, reportedAt: at })))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  detachViewer(peer: Peer): void {
    this.viewers.delete(peer);
    for (const [id, stream] of this.streams) {
      if (stream.viewer !== peer) continue;
      this.streams.delete(id);
      this.agents.get(stream.host)?.peer.send(JSON.stringify({ type: 'request', id: randomUUID(), action: 'cancel', target: id }));
    }
  }

  /** A viewer asks to follow a container's log: the agent streams it until unfollow or disconnect. */
  follow(peer: Peer, host: string, container: string, tail: number): string | undefined {
    const state = this.agents.get(host);
    if (!state) {
      this.sendTo(peer, { type: 'error', message: `${host} is offline` });
      return undefined;
    }
    const id = randomUUID();
    this.streams.set(id, { host, container, viewer: peer });
    this.sendTo(peer, { type: 'log-start', stream: id, host, container });
    state.peer.send(JSON.stringify({ type: 'request', id, action: 'logs', container, tail, follow: true }));
    return id;
  }

  unfollow(peer: Peer, id: string): void {
    const stream = this.streams.get(id);
    if (!stream || stream.viewer !== peer) return;
    this.streams.delete(id);
    this.agents.get(stream.host)?.peer.send(JSON.stringify({ type: 'request', id: randomUUID(), action: 'cancel', target: id }));
  }

  // --- views ---------------------------------------------------------------

  view(host: string): HostView {
    const live = this.agents.get(host);
    if (live) {
      return { name: host, online: true, hostname: live.hostname, agentVersion: live.version, connectedAt: live.connectedAt, lastSeen: live.lastSeen, metrics: live.history.latest(), containers: live.containers };
    }
    const gone = this.offline.get(host);
    return { name: host, online: false, hostname: gone?.hostname ?? null, agentVersion: gone?.version ?? null, connectedAt: null, lastSeen: gone?.lastSeen ?? null, metrics: gone?.history.latest() ?? null, containers: gone?.containers ?? [] };
  }

  hosts(): HostView[] {
    const names = new Set([...this.agents.keys(), ...this.offline.keys()]);
    return [...names].sort().map((name) => this.view(name));
  }

  history(host: string): MetricsSample[] {
    return (this.agents.get(host)?.history ?? this.offline.get(host)?.history)?.samples() ?? [];
  }

  isOnline(host: string): boolean {
    return this.agents.has(host);
  }

  stats(): HubStats {
    return { agents: this.agents.size, viewers: this.viewers.size, dropped: this.dropped, messages: this.messages };
  }

  /** Closes every connection (relay shutdown). */
  closeAll(): void {
    for (const pending of this.pending.values()) clearTimeout(pending.timer);
    for (const state of this.agents.values()) state.peer.close(1001, 'relay shutting down');
    for (const peer of this.viewers) peer.close(1001, 'relay shutting down');
  }

  private broadcast(event: Record<string, unknown>, droppable = false): void {
    if (this.viewers.size === 0) return;
    const text = JSON.stringify(event);
    for (const peer of this.viewers) {
      if (droppable && peer.bufferedAmount() > MAX_BUFFERED) {
        this.dropped += 1;
        continue;
      }
      peer.send(text);
    }
  }

  private sendTo(peer: Peer, event: Record<string, unknown>): void {
    peer.send(JSON.stringify(event));
  }
}
