import { centsToDollars, findKey, matchesQuery } from './offers.ts';
import { failureForStatus, fallbackMessage, providerError, record, unexpected, unlessGone, type ProviderFailure } from './errors.ts';
import { HttpClient, type HttpResponse } from './http.ts';
import type { BackendDefinition, BackendOptions, Instance, InstanceState, LaunchRequest, Offer, OfferQuery, ProvisioningBackend, SshKeyRef } from './types.ts';

/**
 * Lambda Cloud API v1 (/api/v1): `{data}` / `{error:{code,message,suggestion}}`
 * envelopes, Bearer auth, prices in integer cents, one instance per launch,
 * launches limited to one per 12 s, `ip` null while booting, no stop.
 */
const NAME = 'lambda';
export const LAMBDA_LAUNCH_INTERVAL_MS = 12_000;

const STATES: Record<string, InstanceState> = {
  booting: 'pending', active: 'running', unhealthy: 'running', terminating: 'terminating', terminated: 'terminated', preempted: 'terminated',
};

/** Lambda's error codes that are not what their HTTP status suggests. */
function failureFor(code: string | undefined, message: string, status: number): ProviderFailure {
  if (code === 'instance-operations/launch/insufficient-capacity' || /not enough capacity|insufficient-capacity/i.test(message)) return 'capacity';
  if (code === 'global/invalid-api-key') return 'auth';
  if (code === 'global/account-inactive' || code === 'global/invalid-address' || code === 'global/quota-exceeded') return 'account';
  if (code === 'global/object-does-not-exist' && status === 404) return 'not-found';
  if (code?.startsWith('provider/')) return 'unavailable';
  return failureForStatus(status);
}

export class LambdaBackend implements ProvisioningBackend {
  readonly name = NAME;
  readonly capabilities = { stop: false, shape: 'vm' } as const;
  private readonly http: HttpClient;

  constructor(options: BackendOptions) {
    this.http = new HttpClient(NAME, options, () => ({ authorization: `Bearer ${options.apiKey}` }));
  }

  private async call(method: string, path: string, options: Parameters<HttpClient['request']>[2] = {}): Promise<unknown> {
    const response = await this.http.request(method, `/api/v1${path}`, options);
    if (response.status >= 200 && response.status < 300) {
      const data = record(response.json)?.data;
      if (data === undefined) throw unexpected(NAME, `answer to ${method} ${path} (no "data")`);
      return data;
    }
    throw this.error(response);
  }

  private error(response: HttpResponse) {
    const error = record(record(response.json)?.error);
    const code = typeof error?.code === 'string' ? error.code : undefined;
    const message = typeof error?.message === 'string' ? error.message : fallbackMessage(response);
    const suggestion = typeof error?.suggestion === 'string' ? ` — ${error.suggestion}` : '';
    return providerError(NAME, failureFor(code, message, response.status), { ...(code ? { providerCode: code } : {}), message: message + suggestion }, response);
  }

  async verify(signal?: AbortSignal): Promise<void> {
    await this.call('GET', '/ssh-keys', { signal });
  }

  async listOffers(query: OfferQuery, signal?: AbortSignal): Promise<Offer[]> {
    const data = record(await this.call('GET', '/instance-types', { signal }));
    if (!data) throw unexpected(NAME, 'instance type list');
    const offers: Offer[] = [];
    for (const item of Object.values(data)) {
      const type = record(record(item)?.instance_type);
      const specs = record(type?.specs);
      if (!type || typeof type.name !== 'string' || typeof type.price_cents_per_hour !== 'number') continue;
      const regions = (record(item)?.regions_with_capacity_available as unknown[] | undefined) ?? [];
      const gpuCount = Number(specs?.gpus ?? 0);
      if (gpuCount === 0) continue; // CPU-only types
      const gpuText = String(type.gpu_description ?? type.description ?? type.name);
      const memory = /(\d+)\s*GB/i.exec(gpuText)?.[1];
      const base = {
        backend: NAME, instanceType: type.name, gpu: gpuText, gpuCount,
        ...(memory ? { gpuMemoryGb: Number(memory) } : {}),
        ...(typeof specs?.vcpus === 'number' ? { vcpus: specs.vcpus } : {}),
        ...(typeof specs?.memory_gib === 'number' ? { memoryGb: specs.memory_gib } : {}),
        ...(typeof specs?.storage_gib === 'number' ? { diskGb: specs.storage_gib } : {}),
        pricePerHour: centsToDollars(type.price_cents_per_hour),
        shape: 'vm' as const,
      };
      const available = regions.map((r) => record(r)?.name).filter((n): n is string => typeof n === 'string');
      // A type without capacity is still an offer (search shows it as unavailable; --watch waits for it).
      const shown = available.length > 0 ? available : [query.region ?? '-'];
      for (const region of shown) {
        offers.push({ ...base, id: `${NAME}:${type.name}:${region}`, region, available: available.includes(region), launch: { instance_type_name: type.name, region_name: region } });
      }
    }
    return offers.filter((offer) => matchesQuery(offer, query));
  }

  async ensureSshKey(key: { name: string; publicKey: string }, signal?: AbortSignal): Promise<SshKeyRef> {
    const keys = (await this.call('GET', '/ssh-keys', { signal })) as unknown[];
    const found = findKey(keys, key.publicKey);
    if (found && typeof found.name === 'string') return { ref: found.name, publicKey: key.publicKey };
    const created = record(await this.call('POST', '/ssh-keys', { body: { name: key.name, public_key: key.publicKey }, signal, idempotent: false }));
    return { ref: typeof created?.name === 'string' ? created.name : key.name, publicKey: key.publicKey };
  }

  async launch(request: LaunchRequest): Promise<{ id: string }> {
    const body = {
      region_name: request.offer.launch.region_name,
      instance_type_name: request.offer.launch.instance_type_name,
      ssh_key_names: [request.sshKey.ref],
      name: request.name,
    };
    const data = record(await this.call('POST', '/instance-operations/launch', {
      body, signal: request.signal, idempotent: false, spacing: { key: 'launch', ms: LAMBDA_LAUNCH_INTERVAL_MS },
    }));
    const id = (data?.instance_ids as unknown[] | undefined)?.[0];
    if (typeof id !== 'string') throw unexpected(NAME, 'launch answer (no instance id)');
    return { id };
  }

  async get(id: string, signal?: AbortSignal): Promise<Instance | undefined> {
    return toInstance(await unlessGone(this.call('GET', `/instances/${encodeURIComponent(id)}`, { signal }), undefined));
  }

  async list(signal?: AbortSignal): Promise<Instance[]> {
    const data = await this.call('GET', '/instances', { signal });
    return (Array.isArray(data) ? data : []).map(toInstance).filter((i): i is Instance => i !== undefined);
  }

  async terminate(id: string, signal?: AbortSignal): Promise<void> {
    // Terminating twice is harmless, so a lost answer may be asked again.
    await unlessGone(this.call('POST', '/instance-operations/terminate', { body: { instance_ids: [id] }, signal, idempotent: true }), undefined);
  }
}

function toInstance(value: unknown): Instance | undefined {
  const raw = record(value);
  if (!raw || typeof raw.id !== 'string') return undefined;
  const status = String(raw.status ?? '');
  const state = STATES[status] ?? 'error';
  const type = record(raw.instance_type);
  const ip = typeof raw.ip === 'string' && raw.ip ? raw.ip : undefined;
  return {
    backend: NAME,
    id: raw.id,
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    state,
    providerState: status,
    billing: state === 'pending' || state === 'running',
    ...(typeof type?.name === 'string' ? { instanceType: type.name } : {}),
    ...(typeof record(raw.region)?.name === 'string' ? { region: record(raw.region)!.name as string } : {}),
    ...(typeof type?.price_cents_per_hour === 'number' ? { pricePerHour: centsToDollars(type.price_cents_per_hour) } : {}),
    // Lambda's images log in as ubuntu; the address comes only once the VM is up.
    ...(ip && state === 'running' ? { ssh: { host: ip, port: 22, user: 'ubuntu' } } : {}),
  };
}

export const lambdaBackend: BackendDefinition = {
  name: NAME,
  title: 'Lambda Cloud',
  defaultBaseUrl: 'https://cloud.lambda.ai',
  baseUrlEnv: 'MLTOOLBOX_LAMBDA_URL',
  capabilities: { stop: false, shape: 'vm' },
  create: (options) => new LambdaBackend(options),
};
