import { centsToDollars, findKey, matchesQuery } from './offers.ts';
import { failureForStatus, fallbackMessage, providerError, record, unexpected, unlessGone, type ProviderFailure } from './errors.ts';
import { HttpClient, type HttpResponse, type RequestOptions } from './http.ts';
import type { BackendDefinition, BackendOptions, Instance, InstanceState, LaunchRequest, Offer, OfferQuery, ProvisioningBackend, SshKeyRef } from './types.ts';

/**
 * Shadeform API v1: X-API-KEY, no envelopes, every mutation a POST, prices
 * in integer cents (spot entries: dollar strings), `ip`/`ssh_port` null until
 * active, errors `{error_code, error}` (409 OUT_OF_STOCK) except 401
 * `{message}`. Delete answers 200 with an empty body. No stop.
 */
const NAME = 'shadeform';

const STATES: Record<string, InstanceState> = {
  creating: 'pending', pending_provider: 'pending', pending: 'pending', active: 'running', error: 'error', deleting: 'terminating', deleted: 'terminated',
};

function failureFor(code: string | undefined, status: number): ProviderFailure {
  if (code === 'OUT_OF_STOCK') return 'capacity';
  if (code === 'INSUFFICIENT_FUNDS') return 'account';
  if (code === 'INTERNAL_SERVER_ERROR') return 'unavailable';
  return failureForStatus(status);
}

export class ShadeformBackend implements ProvisioningBackend {
  readonly name = NAME;
  readonly capabilities = { stop: false, shape: 'vm' } as const;
  private readonly http: HttpClient;

  constructor(options: BackendOptions) {
    this.http = new HttpClient(NAME, options, () => ({ 'X-API-KEY': options.apiKey }));
  }

  private async call(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.http.request(method, path, options);
    if (response.status >= 200 && response.status < 300) return response.json;
    throw this.error(response);
  }

  private error(response: HttpResponse) {
    const body = record(response.json);
    const code = typeof body?.error_code === 'string' ? body.error_code : undefined;
    const message = typeof body?.error === 'string' ? body.error : typeof body?.message === 'string' ? body.message : fallbackMessage(response);
    return providerError(NAME, failureFor(code, response.status), { ...(code ? { providerCode: code } : {}), message }, response);
  }

  async verify(signal?: AbortSignal): Promise<void> {
    await this.call('GET', '/sshkeys', { signal });
  }

  async listOffers(query: OfferQuery, signal?: AbortSignal): Promise<Offer[]> {
    const body = record(await this.call('GET', '/instances/types', {
      signal,
      query: { ...(query.count !== undefined ? { num_gpus: query.count } : {}), ...(query.region ? { region: query.region } : {}) },
    }));
    const types = body?.instance_types;
    if (!Array.isArray(types)) throw unexpected(NAME, 'instance type list');
    const offers: Offer[] = [];
    for (const item of types.map(record)) {
      const config = record(item?.configuration);
      if (!item || !config || typeof item.hourly_price !== 'number' || typeof item.shade_instance_type !== 'string' || typeof item.cloud !== 'string') continue;
      // Spot entries (rental_type: spot) repeat regions and can disagree on `available`: on-demand only.
      const entries = (Array.isArray(item.availability) ? item.availability : []).map(record)
        .filter((a) => a && typeof a.region === 'string' && (a.rental_type === undefined || a.rental_type === 'on_demand'));
      for (const entry of entries) {
        const region = entry!.region as string;
        offers.push({
          backend: NAME,
          id: `${NAME}:${item.cloud}:${item.shade_instance_type}:${region}`,
          instanceType: `${item.shade_instance_type} (${item.cloud})`,
          gpu: String(config.gpu_type ?? item.shade_instance_type),
          gpuCount: Number(config.num_gpus ?? 1),
          ...(typeof config.vram_per_gpu_in_gb === 'number' ? { gpuMemoryGb: config.vram_per_gpu_in_gb } : {}),
          ...(typeof config.vcpus === 'number' ? { vcpus: config.vcpus } : {}),
          ...(typeof config.memory_in_gb === 'number' ? { memoryGb: config.memory_in_gb } : {}),
          ...(typeof config.storage_in_gb === 'number' ? { diskGb: config.storage_in_gb } : {}),
          region,
          pricePerHour: centsToDollars(item.hourly_price),
          available: entry!.available === true,
          shape: 'vm',
          launch: { cloud: item.cloud, region, shade_instance_type: item.shade_instance_type },
        });
      }
    }
    return offers.filter((offer) => matchesQuery(offer, query));
  }

  async ensureSshKey(key: { name: string; publicKey: string }, signal?: AbortSignal): Promise<SshKeyRef> {
    const keys = (record(await this.call('GET', '/sshkeys', { signal }))?.ssh_keys as unknown[] | undefined) ?? [];
    const found = findKey(keys, key.publicKey);
    if (typeof found?.id === 'string') return { ref: found.id, publicKey: key.publicKey };
    const created = record(await this.call('POST', '/sshkeys/add', { body: { name: key.name, public_key: key.publicKey }, signal, idempotent: false }));
    if (typeof created?.id !== 'string') throw unexpected(NAME, 'answer to adding an ssh key (no id)');
    return { ref: created.id, publicKey: key.publicKey };
  }

  async launch(request: LaunchRequest): Promise<{ id: string }> {
    const launch = request.offer.launch;
    const body = {
      cloud: launch.cloud, region: launch.region, shade_instance_type: launch.shade_instance_type,
      shade_cloud: true, name: request.name, ssh_key_id: request.sshKey.ref,
    };
    const created = record(await this.call('POST', '/instances/create', { body, signal: request.signal, idempotent: false }));
    if (typeof created?.id !== 'string') throw unexpected(NAME, 'launch answer (no instance id)');
    return { id: created.id };
  }

  async get(id: string, signal?: AbortSignal): Promise<Instance | undefined> {
    return toInstance(await unlessGone(this.call('GET', `/instances/${encodeURIComponent(id)}/info`, { signal }), undefined));
  }

  async list(signal?: AbortSignal): Promise<Instance[]> {
    const list = record(await this.call('GET', '/instances', { signal }))?.instances;
    return (Array.isArray(list) ? list : []).map(toInstance).filter((i): i is Instance => i !== undefined);
  }

  async terminate(id: string, signal?: AbortSignal): Promise<void> {
    await unlessGone(this.call('POST', `/instances/${encodeURIComponent(id)}/delete`, { signal, idempotent: true }), undefined);
  }
}

function toInstance(value: unknown): Instance | undefined {
  const raw = record(value);
  if (!raw || typeof raw.id !== 'string') return undefined;
  const status = String(raw.status ?? '');
  const state = STATES[status] ?? 'error';
  const ip = typeof raw.ip === 'string' && raw.ip ? raw.ip : undefined;
  // ssh_port may stay null on an active instance (the docs' own example): 22 then.
  const port = typeof raw.ssh_port === 'number' ? raw.ssh_port : 22;
  return {
    backend: NAME,
    id: raw.id,
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    state,
    providerState: status,
    // Billing stops at `deleting`; an `error` instance is not charged.
    billing: state === 'pending' || state === 'running',
    ...(typeof raw.shade_instance_type === 'string' ? { instanceType: `${raw.shade_instance_type} (${String(raw.cloud)})` } : {}),
    ...(typeof raw.region === 'string' ? { region: raw.region } : {}),
    ...(typeof raw.hourly_price === 'number' ? { pricePerHour: centsToDollars(raw.hourly_price) } : {}),
    ...(ip && state === 'running' ? { ssh: { host: ip, port, user: typeof raw.ssh_user === 'string' && raw.ssh_user ? raw.ssh_user : 'shadeform' } } : {}),
    ...(typeof raw.created_at === 'string' ? { createdAt: raw.created_at } : {}),
  };
}

export const shadeformBackend: BackendDefinition = {
  name: NAME,
  title: 'Shadeform',
  defaultBaseUrl: 'https://api.shadeform.ai/v1',
  baseUrlEnv: 'MLTOOLBOX_SHADEFORM_URL',
  capabilities: { stop: false, shape: 'vm' },
  create: (options) => new ShadeformBackend(options),
};
