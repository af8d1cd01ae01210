import { describeError, UserError } from '../core/errors.ts';
import type { AddHostResult } from '../relay/add-host.ts';
import type { PublicToken, RelayDatabaseSettings } from '../relay/admin.ts';
import type { HostContainersSource, HostStatusSource } from '../orchestrators/connection/connection-orchestrator.ts';
import type { InstanceRecord } from '../db/index.ts';
import type { IdleReading } from '../orchestrators/provisioning/idle-arm.ts';
import type { OperationEvent, OperationView, RelayEndpoint } from '../relay/client.ts';
import type { OperationSink } from '../relay/operation-worker.ts';
import type { RelayStore } from '../relay/server/store.ts';
import type { RelayServeOutput, RelayServeRequest } from '../relay/serve.ts';
import type { App } from './create-app.ts';

export type { OperationSink } from '../relay/operation-worker.ts';
export { RELAY_DB_PASSWORD_ENV, RELAY_SERVE_ENV, RELAY_VERBOSE_ENV, type RelayServeRequest } from '../relay/serve.ts';

/** The secret-store name of the CLI's relay user token. */
export const RELAY_TOKEN_SECRET = 'relay_token';
/** The secret-store name of the relay's PostgreSQL password (never in relay.database_url). */
export const RELAY_DB_PASSWORD_SECRET = 'relay_db_password';

export interface RelaySettings {
  /** relay.url / MLTOOLBOX_RELAY: the relay the CLI asks first. */
  url?: string;
  /** relay.database_url: PostgreSQL for serve and token admin. */
  databaseUrl?: string;
  /** relay.timeout_ms: how long the CLI waits for the relay before asking over SSH. */
  timeoutMs: number;
}

export interface RelayService {
  settings(): Promise<RelaySettings>;
  /** Serves the relay in this process until SIGINT/SIGTERM (`relay serve` without the relay bundle). */
  serve(request: RelayServeRequest, output: RelayServeOutput): Promise<{ url: string; stopped: true }>;
  /** Where the relay's own database is (and its password, from the secret store). */
  databaseSettings(): Promise<RelayDatabaseSettings>;
  /** The relay's own database (tokens, hosts): SQLite in the data folder, or PostgreSQL. */
  openStore(): Promise<RelayStore>;
  /** A user token, or an agent token when `host` is given; the token text is returned once and never stored. */
  createToken(request: { name: string; host?: string }): Promise<{ token: string; record: PublicToken }>;
  listTokens(): Promise<PublicToken[]>;
  /** Revokes by id or name; the ids revoked. */
  revokeToken(idOrName: string): Promise<string[]>;
  /** The user token for relay.url, from the secret store (undefined when none is stored). */
  userToken(): Promise<string | undefined>;
  /**
   * Where `status` asks first: the relay's view of a host, bounded by
   * relay.timeout_ms. Undefined when no relay is configured (nothing changes then).
   * `reason()` says why the relay had no answer (undefined when it was not asked: a local target).
   */
  statusSource(): Promise<{ source: HostStatusSource; reason(): string | undefined } | undefined>;
  /** Where `ps` and `logs` ask first, like statusSource. */
  containersSource(): Promise<{ source: HostContainersSource; reason(): string | undefined } | undefined>;
  /** The configured relay with the user token; `{ reason }` when it cannot be used; undefined when none is configured. */
  endpoint(): Promise<RelayEndpoint | { reason: string } | undefined>;
  /** The relay, for work that needs it (operations): RELAY_UNAVAILABLE when it cannot be used. */
  requireEndpoint(): Promise<RelayEndpoint>;
  /**
   * The worker's side of an operation: registers it with the relay (this
   * process's pid) and returns where its progress goes. RELAY_UNAVAILABLE
   * when the relay cannot be used.
   */
  registerOperation(request: { kind: string; title: string; target: string | null }): Promise<{ id: string; sink: OperationSink }>;
  /** Follows an operation's events until it finishes (its final view) or `signal` aborts (undefined). */
  watchOperation(id: string, onEvents: (events: OperationEvent[], operation: OperationView) => void, signal: AbortSignal): Promise<OperationView | undefined>;
  listOperations(limit: number): Promise<OperationView[]>;
  /** `ops cancel`: asks the operation's worker to stop. OPERATION_NOT_FOUND, or OPERATION_FINISHED once it has ended. */
  cancelOperation(id: string): Promise<OperationView>;
  /** Follows a container's log through the relay until `signal`; started false (and why) when the stream did not start in time. */
  followLogs(host: string, container: string, tail: number, onLines: (lines: string[]) => void, signal: AbortSignal): Promise<{ started: boolean; reason?: string }>;
  /**
   * Sends the provisioning ledger to the relay (its dashboard shows $/h, spend,
   * idle timer); `idle` holds what the hosts' watchers said, by instance name,
   * when the caller asked them. A reason when it could not.
   */
  reportInstances(instances: readonly InstanceRecord[], idle?: ReadonlyMap<string, IdleReading>): Promise<string | undefined>;
  /** Installs the host's agent token and starts mlt daemon there (over SSH). */
  addHost(request: { target: string; name?: string; relayUrl?: string }): Promise<AddHostResult & { relayUrl: string }>;
}

export function createRelay(app: App): RelayService {
  const { reporter } = app.environment;
  let cached: RelaySettings | undefined;
  const settings = async (): Promise<RelaySettings> => {
    // A broken configuration is an error here: a team relay must never fall back to a local SQLite file unnoticed.
    if (cached) return cached;
    // redact: relay settings never hold secrets (the schema refuses them there), so the secret store stays closed.
    const { config } = await (await app.config()).load({ mode: 'redact' });
    cached = {
      ...(config.relay?.url ? { url: config.relay.url } : {}),
      ...(config.relay?.database_url ? { databaseUrl: config.relay.database_url } : {}),
      timeoutMs: config.relay?.timeout_ms ?? 300,
    };
    return cached;
  };
  const databaseSettings = async (): Promise<RelayDatabaseSettings> => {
    const { databaseUrl } = await settings();
    const password = databaseUrl ? await (await app.secretStore()).get(RELAY_DB_PASSWORD_SECRET) : undefined;
    return { ...(databaseUrl ? { databaseUrl } : {}), ...(password ? { password } : {}), dataDir: app.paths.dataDir };
  };
  const openStore = async () => {
    const [{ openRelayStore }, database] = await Promise.all([import('../relay/admin.ts'), databaseSettings()]);
    return openRelayStore(database);
  };
  const withStore = async <T>(work: (store: RelayStore, admin: typeof import('../relay/admin.ts')) => Promise<T>): Promise<T> => {
    const [store, admin] = await Promise.all([openStore(), import('../relay/admin.ts')]);
    try {
      return await work(store, admin);
    } finally {
      await store.close();
    }
  };
  /** The configured relay and the user token; a reason when the token is missing; undefined when no relay is configured. */
  const endpoint = async (): Promise<RelayEndpoint | { reason: string } | undefined> => {
    // A command must still work with a configuration it cannot read for the relay: then it asks the host (and says why).
    const loaded = await settings().catch((error: unknown) => {
      reporter.debug(`relay: settings not loaded (${describeError(error)})`);
      return undefined;
    });
    if (!loaded?.url) return undefined;
    const token = await (await app.secretStore()).get(RELAY_TOKEN_SECRET).catch(() => undefined);
    if (!token) return { reason: `no relay token in the secret store (mltoolbox secret set ${RELAY_TOKEN_SECRET})` };
    return { url: loaded.url, token, timeoutMs: loaded.timeoutMs };
  };
  const unavailable = (reason: string) => new UserError('RELAY_UNAVAILABLE', `the relay cannot be used: ${reason}`,
    'operations need the relay: set relay.url (or MLTOOLBOX_RELAY), store a user token (mltoolbox secret set relay_token), check relay serve runs; or run the command without --op');
  /** The relay, for work that needs it (operations): RELAY_UNAVAILABLE instead of a fallback. */
  const usable = async (): Promise<RelayEndpoint> => {
    const reached = await endpoint();
    if (!reached) throw unavailable('no relay configured');
    if (!('url' in reached)) throw unavailable(reached.reason);
    return reached;
  };
  return {
    settings,
    async serve(request, output) {
      const { serveRelay } = await import('../relay/serve.ts');
      return serveRelay(request, output);
    },
    databaseSettings,
    openStore,
    createToken: (request) => withStore((store, admin) =>
      admin.createToken(store, request.host === undefined ? { name: request.name, scope: 'user' } : { name: request.name, scope: 'agent', host: request.host }, new Date())),
    listTokens: () => withStore(async (store, admin) => (await store.listTokens()).map(admin.publicToken)),
    revokeToken: (idOrName) => withStore((store, admin) => admin.revokeToken(store, idOrName, new Date())),
    async userToken() {
      return (await app.secretStore()).get(RELAY_TOKEN_SECRET);
    },
    endpoint,
    requireEndpoint: usable,
    async statusSource() {
      const reached = await endpoint();
      if (!reached) return undefined;
      let reason: string | undefined;
      const { fetchRelayHost } = await import('../relay/client.ts');
      const source: HostStatusSource = async (host, project) => {
        if (!('url' in reached)) {
          reason = reached.reason;
          return undefined;
        }
        const answer = await fetchRelayHost(reached, host);
        if (!answer.ok) {
          reason = answer.reason;
          return undefined;
        }
        const { containers, metrics } = answer.value;
        const hit = project.containerId ? containers.find((c) => project.containerId!.startsWith(c.id)) : containers.find((c) => c.project === project.project);
        return {
          container: hit ? { id: hit.id, name: hit.name, image: hit.image, state: hit.state, status: hit.status } : null,
          gpu: !metrics
            ? { state: 'none', message: 'the agent has sent no metrics yet' }
            : metrics.gpus.length
              ? { state: 'gpus', gpus: metrics.gpus.map((g) => ({ ...g })) }
              : { state: 'none', message: metrics.gpuNote ?? 'no GPUs' },
        };
      };
      return { source, reason: () => reason };
    },
    async containersSource() {
      const reached = await endpoint();
      if (!reached) return undefined;
      let reason: string | undefined;
      const client = await import('../relay/client.ts');
      const unanswered = (why: string) => {
        reason = why;
        return undefined;
      };
      let asked = false;
      const source: HostContainersSource = {
        async containers(host) {
          asked = true;
          if (!('url' in reached)) return unanswered(reached.reason);
          const answer = await client.fetchRelayHost(reached, host);
          if (!answer.ok) return unanswered(answer.reason);
          return answer.value.containers.map((c) => ({ id: c.id, name: c.name, project: c.project || undefined, image: c.image, state: c.state, status: c.status }));
        },
        async logs(host, container, tail) {
          if (!('url' in reached)) return unanswered(reached.reason);
          // Reading a log is the agent's round trip to Docker: a little longer than a cached figure, still bounded.
          const answer = await client.fetchContainerLogs({ ...reached, timeoutMs: reached.timeoutMs * 4 }, host, container, tail);
          return answer.ok ? answer.value : unanswered(answer.reason);
        },
      };
      return { source, reason: () => reason ?? (asked ? 'the host\'s agent does not list this project\'s container' : undefined) };
    },
    async registerOperation(request) {
      const reached = await usable();
      const [{ createOperation }, { createOperationSink }, { hostname }] = await Promise.all([import('../relay/client.ts'), import('../relay/operation-worker.ts'), import('node:os')]);
      const created = await createOperation({ ...reached, timeoutMs: Math.max(reached.timeoutMs, 5000) }, { ...request, worker: { machine: hostname(), pid: process.pid } });
      if (!created.ok) throw unavailable(created.reason);
      return { id: created.value.id, sink: createOperationSink(reached, created.value.id) };
    },
    async watchOperation(id, onEvents, signal) {
      const reached = await usable();
      const { operationEvents } = await import('../relay/client.ts');
      let after = 0;
      let failures = 0;
      while (!signal.aborted) {
        const answer = await Promise.race([
          operationEvents(reached, id, after, 20_000),
          new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true })),
        ]);
        if (!answer) return undefined;
        if (!answer.ok) {
          if (answer.status === 404) throw new UserError('OPERATION_NOT_FOUND', `the relay knows no operation ${id.slice(0, 40)}`, 'list them: mltoolbox ops list');
          // The relay restarting or a blip: a few more tries, bounded, then say so.
          failures += 1;
          if (failures > 10) throw unavailable(answer.reason);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        failures = 0;
        const { operation, events } = answer.value;
        if (events.length > 0) after = events.at(-1)!.seq;
        onEvents(events, operation);
        if (operation.state !== 'running' && operation.state !== 'cancelling') return operation;
      }
      return undefined;
    },
    async listOperations(limit) {
      const reached = await usable();
      const { listOperations } = await import('../relay/client.ts');
      const answer = await listOperations(reached, limit);
      if (!answer.ok) throw unavailable(answer.reason);
      return answer.value;
    },
    async cancelOperation(id) {
      const reached = await usable();
      const { cancelOperation } = await import('../relay/client.ts');
      const answer = await cancelOperation(reached, id);
      if (answer.ok) return answer.value;
      if (answer.status === 404) throw new UserError('OPERATION_NOT_FOUND', `the relay knows no operation ${id.slice(0, 40)}`, 'list them: mltoolbox ops list');
      if (answer.status === 409) throw new UserError('OPERATION_FINISHED', `operation ${id}: ${answer.reason.replace(/^it answered 409: /, '')}`, `its result stays queryable: mltoolbox ops watch ${id}`);
      throw unavailable(answer.reason);
    },
    async followLogs(host, container, tail, onLines, signal) {
      const reached = await endpoint();
      if (!reached || !('url' in reached)) return { started: false, reason: reached?.reason ?? 'no relay configured' };
      const { followContainerLogs } = await import('../relay/client.ts');
      return followContainerLogs(reached, host, container, tail, onLines, signal, reached.timeoutMs * 4);
    },
    async reportInstances(instances, idle) {
      const reached = await endpoint();
      if (!reached || !('url' in reached)) return reached ? reached.reason : undefined;
      const { reportInstances } = await import('../relay/client.ts');
      const now = Date.now();
      const { instanceView } = await import('../orchestrators/provisioning/instance-view.ts');
      const answer = await reportInstances(reached, instances.map((record) => {
        const view = instanceView(record, now, undefined, idle?.get(record.name));
        return {
          name: record.name, backend: record.backend, instanceType: record.instanceType, gpu: record.gpu, gpuCount: record.gpuCount, region: record.region,
          state: record.state, pricePerHour: record.pricePerHour, since: record.activeAt ?? record.createdAt, endedAt: record.endedAt ?? null,
          spendUsd: view.spendUsd, idleTimeoutMinutes: record.idleTimeoutMinutes, idleAction: record.idleAction, idleMinutesLeft: view.idle.secondsLeft === undefined ? null : view.idle.secondsLeft / 60,
        };
      }));
      return answer.ok ? undefined : answer.reason;
    },
    async addHost(request) {
      const relayUrl = request.relayUrl ?? (await settings()).url;
      if (!relayUrl || !/^https?:\/\/[^\s]+$/.test(relayUrl)) {
        throw new UserError('RELAY_NOT_CONFIGURED', relayUrl ? `'${relayUrl.slice(0, 100)}' is not an http(s) URL` : 'no relay URL for the host to dial',
          'pass --relay-url https://RELAY:7878, or set relay.url (or MLTOOLBOX_RELAY) to the address the host can reach');
      }
      const [{ addHost, defaultHostName }, { resolveTarget }] = await Promise.all([import('../relay/add-host.ts'), import('../services/ssh/target.ts')]);
      // The one target model: saved remotes and remote.* settings, as connect resolves them.
      const { config } = await (await app.config()).load({ mode: 'redact' });
      const saved = (await app.state()).getRemote(request.target);
      const target = resolveTarget(request.target, config.remote, saved);
      const ssh = await app.ssh();
      const store = await openStore();
      try {
        const result = await addHost({
          store,
          host: request.name ?? defaultHostName(saved?.host ?? request.target),
          target: request.target,
          relayUrl,
          now: new Date(),
          shell: { run: (argv, input) => ssh.exec(target, argv, { check: false, timeoutMs: 60_000, ...(input === undefined ? {} : { input }) }) },
        });
        return { ...result, relayUrl };
      } finally {
        await store.close();
      }
    },
  };
}
