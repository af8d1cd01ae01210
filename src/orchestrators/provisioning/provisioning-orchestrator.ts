import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describeError, UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { abortableSleep } from '../../backends/http.ts';
import { isProviderFailure } from '../../backends/errors.ts';
import { compareOffers } from '../../backends/offers.ts';
import { backendBaseUrl, type BackendRegistry } from '../../backends/registry.ts';
import type { Instance, Offer, OfferQuery, ProvisioningBackend, SshKeyRef } from '../../backends/types.ts';
import type { InstanceRecord, StateStore } from '../../db/index.ts';
import { guardInterrupts } from '../../infrastructure/interrupt.ts';
import type { LoadedConfig } from '../../services/config/loader.ts';
import type { SecretStore } from '../../services/secrets/types.ts';
import type { SshTarget } from '../../services/ssh/target.ts';
import type { SshService } from '../../services/ssh/types.ts';
import { instanceKey, type InstanceKey } from './ssh-key.ts';
import { instanceView, type InstanceView } from './instance-view.ts';
import { armIdle, IDLE_DISARM_SCRIPT, readIdle, type IdleArmResult, type IdleReading } from './idle-arm.ts';
import type { Host } from '../../services/host/types.ts';
import { INSTANCE_NAME } from '../../core/instance-name.ts';
import { processAlive } from '../../infrastructure/file-lock.ts';

export type { InstanceView } from './instance-view.ts';

/**
 * Provisioning: backends (API keys in the secret store), search across them
 * in parallel, provision with zero orphans, and the instances ledger with
 * reconciliation against what each provider lists.
 *
 * Zero orphans: the launch intent is written to the state database before
 * the launch call; the provider id right after; from then on every failure
 * (capacity, never active, SSH never answers, the connect after, Ctrl-C)
 * terminates the instance before the error surfaces. What a crash leaves
 * (kill -9, power) is found by the next `instances list`.
 */
type ProvisionConfig = NonNullable<LoadedConfig['config']['provision']> & {
  gpu?: string; gpu_count?: number; max_price?: number; idle_action?: string; ready_timeout_minutes?: number;
  ssh_public_key?: string; idle_key_on_host?: boolean; backends?: Record<string, { url?: string; ssh_user?: string; ssh_port?: number }>;
};

export interface ProvisioningDeps {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  dataDir: string;
  projectDir: string;
  reporter: Reporter;
  registry: BackendRegistry;
  secrets(): Promise<SecretStore>;
  state(): Promise<StateStore>;
  ssh(): Promise<SshService>;
  loadConfig(): Promise<LoadedConfig>;
  /** Fires the plugins' provisionComplete hook. */
  provisionComplete?(instance: { provider: string; id: string; host: string; user: string; port: number; instanceType: string; region: string }): Promise<void>;
  /** The plugins' notification for search --watch (slack). */
  notify?(message: string): Promise<void>;
  now?(): number;
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  /** Between state polls while waiting for an instance (default 3 s). */
  pollIntervalMs?: number;
  pid?: number;
  isAlive?(pid: number): boolean;
}

export interface SearchOptions extends OfferQuery {
  backend?: string;
}

export interface BackendWarning {
  backend: string;
  code: string;
  message: string;
}

export interface SearchResult {
  offers: Offer[];
  warnings: BackendWarning[];
  backends: string[];
}

export interface ProvisionOptions extends SearchOptions {
  offerId?: string;
  name?: string;
  /** This instance's idle timer, over provision.idle_timeout_minutes / idle_action. */
  idleTimeoutMinutes?: number;
  idleAction?: string;
  /** Asked once, with the first offer to launch, before any money is spent; false cancels. */
  confirm?(offer: Offer): Promise<boolean>;
  /** Runs once the instance answers SSH (connect), inside the guard: its failure terminates too. */
  afterReady?(instance: InstanceRecord, signal: AbortSignal): Promise<unknown>;
}

const SECRET = (backend: string) => `provision.${backend}.api_key`;
const URL_META = (backend: string) => `provision.${backend}.url`;
const MAX_LAUNCH_ATTEMPTS = 5;

export function createProvisioningOrchestrator(deps: ProvisioningDeps) {
  const { reporter, registry } = deps;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? abortableSleep;
  const pollMs = deps.pollIntervalMs ?? 3000;
  const pid = deps.pid ?? process.pid;
  const isAlive = deps.isAlive ?? processAlive;

  async function provisionConfig(): Promise<ProvisionConfig> {
    return ((await deps.loadConfig()).config.provision ?? {}) as ProvisionConfig;
  }

  /** Backends with a stored API key (optionally only one). */
  async function configuredBackends(only?: string): Promise<string[]> {
    await provisionConfig(); // plugins' backends are known once the config is read
    if (only) registry.get(only);
    const store = await deps.secrets();
    const names = new Set(await store.list());
    const configured = registry.list().map((d) => d.name).filter((n) => names.has(SECRET(n)));
    if (only) {
      if (!configured.includes(only)) throw notConfigured(only);
      return [only];
    }
    if (configured.length === 0) {
      throw new UserError('BACKEND_NOT_CONFIGURED', 'no provisioning backend has an API key yet', 'add one: mltoolbox backend add lambda (or shadeform, runpod); the key is read from a hidden prompt or stdin');
    }
    return configured;
  }

  function notConfigured(name: string): UserError {
    return new UserError('BACKEND_NOT_CONFIGURED', `the ${name} backend has no API key`, `add it: mltoolbox backend add ${name} (the key is read from a hidden prompt or stdin)`);
  }

  async function baseUrlOf(name: string, config: ProvisionConfig): Promise<string> {
    const state = await deps.state();
    return backendBaseUrl(registry.get(name), deps.env, config.backends?.[name]?.url || state.getMeta(URL_META(name)) || undefined);
  }

  async function openBackend(name: string, config: ProvisionConfig, apiKey?: string): Promise<ProvisioningBackend> {
    const key = apiKey ?? (await (await deps.secrets()).get(SECRET(name)));
    if (!key) throw notConfigured(name);
    return registry.get(name).create({ apiKey: key, baseUrl: await baseUrlOf(name, config), debug: (m) => reporter.debug(m) });
  }

  // --- backend add | list | remove -----------------------------------------

  async function addBackend(name: string, apiKey: string, options: { url?: string } = {}) {
    await checkBackendName(name);
    const definition = registry.get(name);
    if (!apiKey.trim()) throw new UserError('SECRET_VALUE_EMPTY', 'the API key is empty', `type it at the prompt, or pipe it: printf %s "$KEY" | mltoolbox backend add ${name}`);
    const config = await provisionConfig();
    if (options.url) backendBaseUrl(definition, {}, options.url); // validate before anything is stored
    const url = options.url ? backendBaseUrl(definition, deps.env, options.url) : await baseUrlOf(name, config);
    const backend = definition.create({ apiKey: apiKey.trim(), baseUrl: url, debug: (m) => reporter.debug(m) });
    await reporter.task(`Checking the ${definition.title} API key`, () => backend.verify());
    await (await deps.secrets()).set(SECRET(name), apiKey.trim());
    (await deps.state()).setMeta(URL_META(name), options.url ?? '');
    return { backend: name, url };
  }

  async function listBackends(options: { check?: boolean } = {}) {
    const store = await deps.secrets();
    const names = new Set(await store.list());
    const config = await provisionConfig();
    return Promise.all(registry.list().map(async (definition) => {
      const configured = names.has(SECRET(definition.name));
      let auth: 'ok' | 'failed' | 'unknown' | 'not-configured' = configured ? 'unknown' : 'not-configured';
      let error: string | undefined;
      const url = await baseUrlOf(definition.name, config).catch((e: unknown) => describeError(e));
      if (configured && options.check !== false) {
        try {
          await (await openBackend(definition.name, config)).verify();
          auth = 'ok';
        } catch (e) {
          auth = 'failed';
          error = describeError(e);
        }
      }
      return { name: definition.name, title: definition.title, configured, auth, url, stop: definition.capabilities.stop, shape: definition.capabilities.shape, ...(error ? { error } : {}) };
    }));
  }

  async function removeBackend(name: string) {
    await checkBackendName(name);
    const removed = await (await deps.secrets()).remove(SECRET(name));
    (await deps.state()).setMeta(URL_META(name), '');
    const open = (await deps.state()).listInstances({ open: true }).filter((i) => i.backend === name);
    return { backend: name, removed, openInstances: open.map((i) => i.name) };
  }

  // --- search ---------------------------------------------------------------

  function queryFrom(options: SearchOptions, config: ProvisionConfig): OfferQuery {
    const gpu = options.gpu ?? config.gpu;
    const count = options.count ?? config.gpu_count;
    const max = options.maxPricePerHour ?? config.max_price;
    const region = options.region ?? config.region;
    return { ...(gpu ? { gpu } : {}), ...(count ? { count } : {}), ...(max !== undefined ? { maxPricePerHour: max } : {}), ...(region ? { region } : {}) };
  }

  function meetsConfig(offer: Offer, config: ProvisionConfig): boolean {
    if (config.instance_type && offer.instanceType !== config.instance_type && !offer.instanceType.startsWith(`${config.instance_type} `)) return false;
    // Lambda and Shadeform disks come with the type: an offer with less than asked is skipped.
    if (config.disk_gb && offer.shape === 'vm' && offer.diskGb !== undefined && offer.diskGb < config.disk_gb) return false;
    return true;
  }

  async function search(options: SearchOptions = {}, signal?: AbortSignal): Promise<SearchResult> {
    const config = await provisionConfig();
    const names = await configuredBackends(options.backend ?? config.backend);
    const query = queryFrom(options, config);
    const settled = await Promise.allSettled(names.map(async (name) => (await openBackend(name, config)).listOffers(query, signal)));
    const offers: Offer[] = [];
    const warnings: BackendWarning[] = [];
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') offers.push(...result.value.filter((o) => meetsConfig(o, config)));
      else warnings.push({ backend: names[i]!, code: result.reason instanceof UserError ? result.reason.code : 'INTERNAL', message: describeError(result.reason) });
    });
    // Every backend failed: that is an error, not an empty result.
    if (names.length > 0 && warnings.length === names.length) throw (settled[0] as PromiseRejectedResult).reason;
    return { offers: offers.sort(compareOffers), warnings, backends: names };
  }

  /** search --watch: polls politely until an available offer matches; bounded by maxWaitMs. */
  async function watch(options: SearchOptions & { intervalMs: number; maxWaitMs: number; onPoll?(result: SearchResult, round: number): void }): Promise<SearchResult & { rounds: number }> {
    const guard = guardInterrupts();
    try {
      return await watchUntilFound({ ...options, signal: guard.signal });
    } catch (error) {
      if (guard.received) throw new UserError('INTERRUPTED', 'stopped watching', 'run search --watch again to resume');
      throw error;
    } finally {
      guard.release();
    }
  }

  async function watchUntilFound(options: SearchOptions & { intervalMs: number; maxWaitMs: number; signal: AbortSignal; onPoll?(result: SearchResult, round: number): void }): Promise<SearchResult & { rounds: number }> {
    const deadline = now() + options.maxWaitMs;
    for (let round = 1; ; round++) {
      const result = await search(options, options.signal);
      const available = result.offers.filter((o) => o.available);
      if (available.length > 0) {
        const best = available[0]!;
        const message = `GPU available: ${best.gpuCount}x ${best.gpu} on ${best.backend} (${best.region}) at $${best.pricePerHour.toFixed(2)}/h — offer ${best.id}`;
        reporter.success(message);
        await deps.notify?.(message).catch((e: unknown) => reporter.warn(`notification failed: ${describeError(e)}`));
        return { ...result, offers: available, rounds: round };
      }
      options.onPoll?.(result, round);
      if (now() + options.intervalMs > deadline) {
        throw new UserError('NO_OFFER', `no offer matched within ${Math.round(options.maxWaitMs / 60000)} min (${round} searches)`, 'run search --watch again with a longer --timeout, or loosen --gpu/--max-price/--region');
      }
      await sleep(options.intervalMs, options.signal);
    }
  }

  // --- provision ------------------------------------------------------------

  function newName(projectName: string): string {
    const slug = projectName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'gpu';
    return `mlt-${slug}-${randomBytes(3).toString('hex')}`;
  }

  async function provision(options: ProvisionOptions) {
    const loaded = await deps.loadConfig();
    const config = (loaded.config.provision ?? {}) as ProvisionConfig;
    const state = await deps.state();
    const name = options.name ?? newName(loaded.config.project?.name ?? 'gpu');
    if (!INSTANCE_NAME.test(name)) throw new UserError('USAGE', `'${name}' is not a valid instance name`, 'use lowercase letters, digits and -, at most 48 characters, e.g. --name train-h100');
    if (state.getInstance(name) || state.getRemote(name)) throw new UserError('USAGE', `the name '${name}' is already used by an instance or saved remote`, 'pick another --name (mltoolbox instances list, mltoolbox remote list)');

    const found = await reporter.task('Searching offers', () => search(options));
    for (const w of found.warnings) reporter.warn(`${w.backend}: ${w.message}`);
    let candidates = found.offers.filter((o) => o.available);
    if (options.offerId) candidates = found.offers.filter((o) => o.id === options.offerId);
    if (candidates.length === 0) {
      const what = options.offerId ? `offer ${options.offerId}` : describeQuery(queryFrom(options, config));
      throw new UserError('NO_OFFER', `no available offer for ${what} on ${found.backends.join(', ')}`,
        options.offerId ? 'offer ids change with availability: run mltoolbox search again' : 'loosen a constraint, or wait for one: mltoolbox search --watch --gpu GPU');
    }
    if (options.confirm && !(await options.confirm(candidates[0]!))) return { cancelled: true as const };
    const key = await instanceKey({ ...(config.ssh_public_key ? { configured: config.ssh_public_key } : {}), homeDir: deps.homeDir, dataDir: deps.dataDir });
    const image = loaded.config.environment?.base_image;
    const readyMs = (config.ready_timeout_minutes ?? 20) * 60_000;

    const guard = guardInterrupts((signal, count) => {
      if (count === 1) process.stderr.write(`\n${signal}: stopping; terminating anything launched (no billing left behind)...\n`);
    });
    const attempts: { offer: string; error: string }[] = [];
    const keys = new Map<string, SshKeyRef>();
    // One client per backend for the whole run: its rate limits (Lambda: a launch per 12 s) hold across fallbacks.
    const backends = new Map<string, ProvisioningBackend>();
    try {
      for (const offer of candidates.slice(0, MAX_LAUNCH_ATTEMPTS)) {
        guard.signal.throwIfAborted();
        if (!backends.has(offer.backend)) backends.set(offer.backend, await openBackend(offer.backend, config));
        const backend = backends.get(offer.backend)!;
        if (offer.shape === 'container' && !image) {
          attempts.push({ offer: offer.id, error: 'needs environment.base_image (the pod is the container)' });
          continue;
        }
        if (!keys.has(offer.backend)) keys.set(offer.backend, await backend.ensureSshKey({ name: `mltoolbox-${keyFingerprint(key)}`, publicKey: key.publicKey }, guard.signal));
        const idle = { minutes: options.idleTimeoutMinutes ?? config.idle_timeout_minutes ?? 30, action: options.idleAction ?? config.idle_action ?? 'stop' };
        const launched = await launchOne(state, backend, offer, { name, key, sshKey: keys.get(offer.backend)!, image, idle, config, signal: guard.signal });
        if ('refused' in launched) {
          attempts.push({ offer: offer.id, error: launched.refused.message });
          if (isProviderFailure(launched.refused, 'capacity')) {
            reporter.warn(`${offer.backend}: no capacity for ${offer.instanceType} in ${offer.region}; trying the next offer`);
            continue;
          }
          throw launched.refused;
        }
        return await untilReady(state, backend, launched.record, key, { ...options, config, readyMs, signal: guard.signal });
      }
      throw new UserError('PROVIDER_CAPACITY', `no capacity on the ${Math.min(candidates.length, MAX_LAUNCH_ATTEMPTS)} cheapest offers`,
        'wait for one: mltoolbox search --watch --gpu GPU (it can provision when one appears)', { details: attempts.map((a) => `${a.offer}: ${a.error}`), data: { attempts } });
    } catch (error) {
      if (guard.received) throw new UserError('INTERRUPTED', `provision interrupted (${guard.received})`, 'nothing was left running; run mltoolbox instances list to check', { cause: error });
      throw error;
    } finally {
      guard.release();
    }
  }

  /** Records the intent, launches, records the id; a refusal leaves nothing (state failed). */
  async function launchOne(state: StateStore, backend: ProvisioningBackend, offer: Offer, ctx: { name: string; key: InstanceKey; sshKey: SshKeyRef; image: string | undefined; idle: { minutes: number; action: string }; config: ProvisionConfig; signal: AbortSignal }): Promise<{ record: InstanceRecord } | { refused: UserError }> {
    const name = ctx.name;
    state.recordLaunchIntent({
      name, backend: offer.backend, offerId: offer.id, instanceType: offer.instanceType, region: offer.region, gpu: offer.gpu,
      gpuCount: offer.gpuCount, pricePerHour: offer.pricePerHour, shape: offer.shape, ownerPid: pid, projectPath: deps.projectDir,
      idleTimeoutMinutes: ctx.idle.minutes, idleAction: ctx.idle.action,
    });
    reporter.info(`Launching ${offer.gpuCount}x ${offer.gpu} on ${offer.backend} (${offer.region}) at $${offer.pricePerHour.toFixed(2)}/h as ${name}`);
    try {
      const { id } = await backend.launch({
        offer, name, sshKey: ctx.sshKey, signal: ctx.signal,
        ...(ctx.image ? { image: ctx.image } : {}), ...(ctx.config.disk_gb ? { diskGb: ctx.config.disk_gb } : {}),
      });
      return { record: state.updateInstance(name, { providerId: id, state: 'pending' })! };
    } catch (error) {
      const definite = error instanceof UserError && ['PROVIDER_CAPACITY', 'PROVIDER_AUTH_FAILED', 'PROVIDER_ACCOUNT', 'PROVIDER_REQUEST_INVALID', 'PROVIDER_RATE_LIMITED', 'PROVIDER_NOT_FOUND'].includes(error.code);
      if (definite) {
        // Nothing exists at the provider: the row stays as history, and the name is free for the next offer.
        state.updateInstance(name, { state: 'failed', error: error.message, endedAt: new Date(now()).toISOString(), ownerPid: null });
        let refusedName = `${name}-refused-1`;
        for (let i = 2; state.getInstance(refusedName); i++) refusedName = `${name}-refused-${i}`;
        state.renameInstance(name, refusedName);
        return { refused: error };
      }
      // No answer (timeout, reset, 5xx, Ctrl-C mid-call): it may exist. Find it by name and end it.
      await recoverAmbiguousLaunch(state, backend, name);
      throw error;
    }
  }

  async function recoverAmbiguousLaunch(state: StateStore, backend: ProvisioningBackend, name: string): Promise<void> {
    const cleanup = AbortSignal.timeout(60_000);
    try {
      const match = (await backend.list(cleanup)).find((i) => i.name === name && i.state !== 'terminated');
      if (match) {
        state.updateInstance(name, { providerId: match.id });
        await terminateRecord(state, backend, state.getInstance(name)!, cleanup);
      } else {
        state.updateInstance(name, { state: 'failed', error: 'launch had no answer; the provider lists no such instance', endedAt: new Date(now()).toISOString(), ownerPid: null });
      }
    } catch (error) {
      reporter.warn(`could not check whether ${name} was launched (${describeError(error)}); mltoolbox instances list will look again`);
    }
  }

  async function untilReady(state: StateStore, backend: ProvisioningBackend, record: InstanceRecord, key: InstanceKey, options: ProvisionOptions & { config: ProvisionConfig; readyMs: number; signal: AbortSignal }) {
    try {
      const deadline = now() + options.readyMs;
      const instance = await reporter.task(`Waiting for ${record.name} to be active`, async (task) => {
        for (;;) {
          options.signal.throwIfAborted();
          const current = await backend.get(record.providerId!, options.signal);
          if (!current || current.state === 'terminated' || current.state === 'terminating' || current.state === 'error') {
            throw new UserError('INSTANCE_NOT_READY', `${record.name} ended up ${current?.providerState ?? 'gone'} at ${record.backend} before it was active`, 'try again; another offer or region may do better (mltoolbox search)');
          }
          task.update(`${current.providerState}, ${Math.round((deadline - now()) / 1000)} s left`);
          if (current.state === 'running' && current.ssh) return current;
          if (now() + pollMs > deadline) {
            throw new UserError('INSTANCE_NOT_READY', `${record.name} was not active within ${Math.round(options.readyMs / 60000)} min (still ${current.providerState})`, 'it was terminated; try again, or raise provision.ready_timeout_minutes');
          }
          await sleep(pollMs, options.signal);
        }
      });
      // A custom image or a gateway may log in elsewhere than the provider says (provision.backends.NAME.ssh_user/ssh_port).
      const override = options.config.backends?.[record.backend];
      const ssh = { ...instance.ssh!, ...(override?.ssh_user ? { user: override.ssh_user } : {}), ...(override?.ssh_port ? { port: override.ssh_port } : {}) };
      const knownHostsFile = join(deps.dataDir, 'known_hosts');
      const target: SshTarget = { host: ssh.host, port: ssh.port, user: ssh.user, identityFile: key.privateKeyFile, hostKey: { alias: record.name, knownHostsFile, firstContact: true } };
      const sshService = await deps.ssh();
      await reporter.task(`Waiting for SSH on ${ssh.host}:${ssh.port}`, () =>
        sshService.waitForHost(target, { timeoutMs: Math.max(5_000, deadline - now()), signal: options.signal }));
      options.signal.throwIfAborted();
      // Pinned from now on: a different key on this name is refused.
      state.upsertRemote({ alias: record.name, host: ssh.host, user: ssh.user, port: ssh.port, identityFile: key.privateKeyFile });
      const ready = state.updateInstance(record.name, {
        state: 'running', sshHost: ssh.host, sshPort: ssh.port, sshUser: ssh.user, hostKeyAlias: record.name, knownHostsFile,
        activeAt: new Date(now()).toISOString(), ...(instance.pricePerHour !== undefined ? { pricePerHour: instance.pricePerHour } : {}),
      })!;
      await deps.provisionComplete?.({ provider: record.backend, id: record.providerId!, host: ssh.host, user: ssh.user, port: ssh.port, instanceType: record.instanceType, region: record.region })
        .catch((error: unknown) => reporter.warn(`provisionComplete hook: ${describeError(error)}`));
      reporter.success(`${record.name} is ready: ${ssh.user}@${ssh.host}:${ssh.port} ($${ready.pricePerHour.toFixed(2)}/h)`);
      const connected = options.afterReady ? await options.afterReady(ready, options.signal) : undefined;
      options.signal.throwIfAborted();
      state.updateInstance(record.name, { ownerPid: null });
      return { instance: state.getInstance(record.name)!, connected };
    } catch (error) {
      const reason = options.signal.aborted ? 'interrupted' : describeError(error);
      reporter.warn(`terminating ${record.name} (${reason})`);
      await terminateRecord(state, backend, state.getInstance(record.name)!, AbortSignal.timeout(120_000)).catch((cleanupError: unknown) => {
        reporter.warn(`could not terminate ${record.name}: ${describeError(cleanupError)} — it may still bill; run: mltoolbox instances terminate ${record.name}`);
      });
      throw error;
    }
  }

  async function terminateRecord(state: StateStore, backend: ProvisioningBackend, record: InstanceRecord, signal?: AbortSignal): Promise<void> {
    if (record.providerId) await backend.terminate(record.providerId, signal);
    state.updateInstance(record.name, { state: 'terminated', endedAt: new Date(now()).toISOString(), ownerPid: null });
    if (state.getRemote(record.name)) state.removeRemote(record.name);
  }

  // --- instances ------------------------------------------------------------

  const view = (record: InstanceRecord, providerState?: string, idle?: IdleReading): InstanceView => instanceView(record, now(), providerState, idle);

  /** The SSH target of a ready instance: its saved remote's key, its host key pinned under its name. */
  function instanceTarget(state: StateStore, record: InstanceRecord): SshTarget | undefined {
    if (!record.sshHost || !record.sshUser || !record.sshPort || !record.hostKeyAlias || !record.knownHostsFile) return undefined;
    const identityFile = state.getRemote(record.name)?.identityFile;
    return {
      host: record.sshHost, port: record.sshPort, user: record.sshUser, connectTimeout: 5,
      ...(identityFile ? { identityFile } : {}),
      hostKey: { alias: record.hostKeyAlias, knownHostsFile: record.knownHostsFile },
    };
  }

  /** The idle watchers' reports of the running instances (VMs and pods), asked in parallel, 10 s at most each. */
  async function idleReadings(records: InstanceRecord[]): Promise<Map<string, IdleReading>> {
    const found = new Map<string, IdleReading>();
    const asked = records.filter((r) => r.state === 'running' && (r.idleTimeoutMinutes ?? 0) > 0);
    if (asked.length === 0) return found;
    const [sshService, state] = await Promise.all([deps.ssh(), deps.state()]);
    await Promise.all(asked.map(async (record) => {
      const target = instanceTarget(state, record);
      if (!target) return;
      found.set(record.name, await readIdle(async (script, args) => {
        const result = await sshService.execScript(target, script, { args, timeoutMs: 10_000, check: false });
        return { exitCode: result.code, stdout: result.stdout };
      }, record.name));
    }));
    return found;
  }

  /** Best effort, 10 s at most: the host's watcher and its key go before the instance does. */
  async function disarmIdle(state: StateStore, record: InstanceRecord): Promise<void> {
    const target = record.state === 'running' && (record.idleTimeoutMinutes ?? 0) > 0 ? instanceTarget(state, record) : undefined;
    if (!target) return;
    await (await deps.ssh()).execScript(target, IDLE_DISARM_SCRIPT, { args: [record.name], timeoutMs: 10_000, check: false })
      .catch((error: unknown) => reporter.debug(`idle watcher of ${record.name} not disarmed: ${describeError(error)}`));
  }

  /**
   * Starts the host's idle watcher for a ready instance (after connect
   * installed the agent; on a pod, in the pod). The provider key is placed
   * on the host only with consent; never fails: what went wrong is in the
   * result's note. `rearm` (connect): a running watcher is left alone, and
   * without consent now the key placed earlier is kept.
   */
  async function armIdleOn(record: InstanceRecord, host: Host, options: { agentPath: string | undefined; keyOnHost: boolean; rearm?: boolean }): Promise<IdleArmResult> {
    const config = await provisionConfig();
    const definition = registry.get(record.backend);
    const canStop = definition.capabilities.stop;
    const wantsKey = options.keyOnHost && record.idleAction !== 'notify' && (record.idleAction === 'terminate' || canStop);
    const apiKey = wantsKey ? await (await deps.secrets()).get(SECRET(record.backend)) : undefined;
    const result = await armIdle(host, { record, agentPath: options.agentPath, baseUrl: await baseUrlOf(record.backend, config), canStop, apiKey: apiKey ?? undefined, ifStopped: options.rearm ?? false });
    if (result.alreadyRunning) reporter.debug(`idle auto-stop on ${record.name}: its watcher is running`);
    else if (!result.armed && result.note) reporter.warn(`idle auto-stop for ${record.name}: ${result.note}`);
    else if (result.armed) reporter.info(`idle auto-stop armed on ${record.name}: ${result.effectiveAction} after ${result.timeoutSeconds} s idle${result.why ? ` (${result.why})` : ''}`);
    return result;
  }

  /**
   * Compares each configured backend's list with the ledger: records follow
   * the provider's state (gone → terminated), a launch whose answer was lost
   * gets its id back by name, and instances that are ours (mlt- names) with
   * no finished command behind them are marked strays.
   */
  async function reconcile(options: { all?: boolean } = {}) {
    const state = await deps.state();
    const config = await provisionConfig();
    const names = await configuredBackends().catch(() => [] as string[]);
    const warnings: BackendWarning[] = [];
    const providerStates = new Map<string, string>();
    await Promise.all(names.map(async (backendName) => {
      let listed: Instance[];
      try {
        listed = await (await openBackend(backendName, config)).list();
      } catch (error) {
        warnings.push({ backend: backendName, code: error instanceof UserError ? error.code : 'INTERNAL', message: describeError(error) });
        return;
      }
      const byId = new Map(listed.map((i) => [i.id, i]));
      for (const record of state.listInstances({ open: true }).filter((r) => r.backend === backendName)) {
        const live = record.providerId ? byId.get(record.providerId) : listed.find((i) => i.name === record.name);
        if (live && !record.providerId) state.updateInstance(record.name, { providerId: live.id });
        // The command that launched it is still running (in another process): not ours to judge yet.
        const inFlight = record.ownerPid !== null && record.ownerPid !== pid && isAlive(record.ownerPid);
        if (!live || live.state === 'terminated') {
          if (inFlight) continue;
          state.updateInstance(record.name, { state: record.providerId || live ? 'terminated' : 'failed', endedAt: record.endedAt ?? new Date(now()).toISOString(), ownerPid: null });
          if (state.getRemote(record.name) && record.hostKeyAlias) state.removeRemote(record.name);
          continue;
        }
        providerStates.set(record.name, live.providerState);
        // Its command died before finishing (kill -9, a crash): it bills with nobody using it.
        const orphaned = record.ownerPid !== null && !inFlight && record.ownerPid !== pid;
        state.updateInstance(record.name, { state: live.state, ...(orphaned ? { stray: true } : {}) });
      }
      // Instances with our name pattern that the ledger never saw (a different machine, a lost database).
      for (const instance of listed) {
        if (instance.state === 'terminated' || !instance.name?.startsWith('mlt-')) continue;
        if (state.findInstanceByProviderId(backendName, instance.id)) continue;
        // A provider's name is shown and typed back (instances terminate NAME): only a plain one is kept.
        const base = INSTANCE_NAME.test(instance.name) ? instance.name : `mlt-stray-${instance.id.replace(/[^a-z0-9]/gi, '').slice(0, 12).toLowerCase()}`;
        let name = base;
        for (let i = 2; state.getInstance(name); i++) name = `${base}-${i}`;
        state.recordLaunchIntent({
          name, backend: backendName, providerId: instance.id, offerId: '-', instanceType: instance.instanceType ?? '-', region: instance.region ?? '-',
          gpu: instance.instanceType ?? '-', gpuCount: 0, pricePerHour: instance.pricePerHour ?? 0, shape: registry.get(backendName).capabilities.shape,
          state: instance.state === 'running' ? 'running' : 'pending', stray: true,
        });
        providerStates.set(name, instance.providerState);
      }
    }));
    const records = state.listInstances({ open: !options.all });
    const idle = await idleReadings(records);
    return { instances: records.map((r) => view(r, providerStates.get(r.name), idle.get(r.name))), warnings, backends: names };
  }

  async function findRecords(selector: { idOrName?: string; all?: boolean; strays?: boolean }): Promise<InstanceRecord[]> {
    const state = await deps.state();
    const open = state.listInstances({ open: true });
    if (selector.all) return open;
    if (selector.strays) return open.filter((r) => r.stray);
    const wanted = selector.idOrName ?? '';
    const found = open.filter((r) => r.name === wanted || r.providerId === wanted);
    if (found.length === 0) {
      throw new UserError('INSTANCE_NOT_FOUND', `no running instance named or with id '${wanted}'`, 'mltoolbox instances list shows names and ids');
    }
    return found;
  }

  async function terminate(selector: { idOrName?: string; all?: boolean; strays?: boolean }) {
    const state = await deps.state();
    const config = await provisionConfig();
    const records = await findRecords(selector);
    const results: { name: string; backend: string; ok: boolean; error?: string }[] = [];
    await Promise.all(records.map(async (record) => {
      try {
        await disarmIdle(state, record);
        await terminateRecord(state, await openBackend(record.backend, config), record);
        results.push({ name: record.name, backend: record.backend, ok: true });
      } catch (error) {
        results.push({ name: record.name, backend: record.backend, ok: false, error: describeError(error) });
      }
    }));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      throw new UserError('PROVIDER_UNAVAILABLE', `could not terminate ${failed.map((f) => f.name).join(', ')}`, 'they may still bill: run mltoolbox instances terminate again, or end them in the provider\'s console', { details: failed.map((f) => `${f.name}: ${f.error}`), data: { results } });
    }
    return { terminated: results };
  }

  const stopUnsupported = (record: InstanceRecord) => new UserError('INSTANCE_STOP_UNSUPPORTED', `${record.backend} cannot stop an instance (${record.name})`,
    `terminate it instead (billing ends, the disk is lost): mltoolbox instances terminate ${record.name}`);

  /**
   * Stops instances whose provider can stop. With --all, instances that are
   * already stopped or whose provider cannot stop (Lambda, Shadeform) are
   * skipped and listed, so one Lambda VM does not keep every pod billing.
   */
  async function stop(selector: { idOrName?: string; all?: boolean }) {
    const state = await deps.state();
    const config = await provisionConfig();
    const records = await findRecords(selector);
    const stopped: string[] = [];
    const skipped: { name: string; why: string }[] = [];
    for (const record of records) {
      if (record.state === 'stopped') {
        skipped.push({ name: record.name, why: 'already stopped' });
        continue;
      }
      if (!registry.get(record.backend).capabilities.stop) {
        if (selector.all) {
          skipped.push({ name: record.name, why: `${record.backend} cannot stop (terminate it: mltoolbox instances terminate ${record.name})` });
          continue;
        }
        throw stopUnsupported(record);
      }
      const backend = await openBackend(record.backend, config);
      if (!backend.stop) throw stopUnsupported(record);
      await backend.stop(record.providerId!);
      state.updateInstance(record.name, { state: 'stopped' });
      stopped.push(record.name);
    }
    return { stopped, skipped };
  }

  /** Throws BACKEND_UNKNOWN for a typo (plugins' backends count: the config that enables them is read first). */
  const checkBackendName = async (name: string): Promise<void> => {
    await provisionConfig();
    registry.get(name);
  };

  return { checkBackendName, addBackend, listBackends, removeBackend, configuredBackends, search, watch, provision, reconcile, terminate, stop, view, armIdle: armIdleOn };
}

export type ProvisioningOrchestrator = ReturnType<typeof createProvisioningOrchestrator>;
export type { Offer } from '../../backends/types.ts';
export type { InstanceRecord } from '../../db/index.ts';

function describeQuery(query: OfferQuery): string {
  const parts = [query.gpu ? `${query.count ?? ''}${query.count ? 'x ' : ''}${query.gpu}` : 'any GPU', query.region ? `in ${query.region}` : '', query.maxPricePerHour !== undefined ? `at most $${query.maxPricePerHour}/h` : ''];
  return parts.filter(Boolean).join(' ');
}

/** Names the key at the provider after its content, so the same key is never added twice under new names. */
function keyFingerprint(key: InstanceKey): string {
  return createHash('sha256').update(key.publicKey.split(/\s+/)[1] ?? key.publicKey).digest('hex').slice(0, 12);
}

