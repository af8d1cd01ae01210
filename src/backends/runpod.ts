import { matchesQuery } from './offers.ts';
import { failureForStatus, fallbackMessage, providerError, record, unexpected, unlessGone, type ProviderFailure } from './errors.ts';
import { HttpClient, type HttpResponse, type RequestOptions } from './http.ts';
import type { BackendDefinition, BackendOptions, Instance, InstanceState, LaunchRequest, Offer, OfferQuery, ProvisioningBackend, SshKeyRef } from './types.ts';

/**
 * RunPod REST v2: the pod IS the container (image given at create, SSH as
 * root into it), Bearer auth, prices in float dollars per GPU, errors as
 * application/problem+json `{title,status,detail}` — and capacity
 * exhaustion only as a 400 with a human `detail`. Pods can be stopped.
 */
const NAME = 'runpod';

const STATES: Record<string, InstanceState> = {
  PROVISIONING: 'pending', STARTING: 'pending', RUNNING: 'running', EXITED: 'stopped', ERROR: 'error', TERMINATED: 'terminated',
};

/** RunPod has no machine-readable capacity code: these are the words its 400s use. */
const CAPACITY_TEXT = /capacity|no (?:longer )?(?:any )?(?:available|instances?|machines?|gpus?)|not (?:enough|available)|out of stock|unavailable|insufficient (?:resources|gpus?)/i;

function failureFor(status: number, detail: string): ProviderFailure {
  if (status === 400 && CAPACITY_TEXT.test(detail)) return 'capacity';
  if (status === 422) return 'invalid';
  return failureForStatus(status);
}

export class RunpodBackend implements ProvisioningBackend {
  readonly name = NAME;
  readonly capabilities = { stop: true, shape: 'container' } as const;
  private readonly http: HttpClient;

  constructor(options: BackendOptions) {
    this.http = new HttpClient(NAME, options, () => ({ authorization: `Bearer ${options.apiKey}` }));
  }

  private async call(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.http.request(method, `/v2${path}`, options);
    if (response.status >= 200 && response.status < 300) return response.json;
    throw this.error(response);
  }

  private error(response: HttpResponse) {
    const body = record(response.json);
    const detail = typeof body?.detail === 'string' ? body.detail : undefined;
    const title = typeof body?.title === 'string' ? body.title : undefined;
    const extra = Array.isArray(body?.errors) ? body.errors.filter((e) => typeof e === 'string').join('; ') : '';
    const message = [detail ?? title ?? fallbackMessage(response), extra].filter(Boolean).join(': ');
    return providerError(NAME, failureFor(response.status, message), { message }, response);
  }

  async verify(signal?: AbortSignal): Promise<void> {
    await this.call('GET', '/pods', { signal });
  }

  async listOffers(query: OfferQuery, signal?: AbortSignal): Promise<Offer[]> {
    const count = query.count ?? 1;
    const body = record(await this.call('GET', '/catalog/gpus', { signal, query: { include: 'AVAILABILITY', product: 'POD', count } }));
    const gpus = body?.gpus;
    if (!Array.isArray(gpus)) throw unexpected(NAME, 'GPU catalog');
    const offers: Offer[] = [];
    for (const gpu of gpus.map(record)) {
      if (!gpu || typeof gpu.id !== 'string') continue;
      const price = record(gpu.price);
      const maxCount = record(gpu.maxCount);
      for (const cloud of ['SECURE', 'COMMUNITY'] as const) {
        const key = cloud.toLowerCase();
        const perGpu = price?.[key];
        if (gpu[key] !== true || typeof perGpu !== 'number' || Number(maxCount?.[key] ?? 0) < count) continue;
        const centres = (Array.isArray(gpu.dataCenters) ? gpu.dataCenters : []).map(record).filter((c) => typeof c?.id === 'string');
        const places = centres.length > 0 ? centres.map((c) => ({ region: c!.id as string, level: String(c!.availability ?? 'NONE') }))
          : [{ region: 'any', level: String(gpu.availability ?? 'NONE') }];
        for (const place of places) {
          offers.push({
            backend: NAME,
            id: `${NAME}:${gpu.id.replace(/\s+/g, '_')}:x${count}:${key}:${place.region}`,
            instanceType: `${String(gpu.name ?? gpu.id)} x${count} (${key})`,
            gpu: `${String(gpu.id)} ${String(gpu.name ?? '')}`.trim(),
            gpuCount: count,
            ...(typeof gpu.memory === 'number' ? { gpuMemoryGb: gpu.memory } : {}),
            region: place.region,
            pricePerHour: Math.round(perGpu * count * 1000) / 1000,
            available: place.level !== 'NONE',
            shape: 'container',
            launch: { gpuId: gpu.id, count, cloud, ...(place.region !== 'any' ? { dataCenterId: place.region } : {}) },
          });
        }
      }
    }
    return offers.filter((offer) => matchesQuery(offer, query));
  }

  /** The key reaches the pod in its PUBLIC_KEY variable: the account's key list (a full replacement on PUT) is left alone. */
  async ensureSshKey(key: { name: string; publicKey: string }): Promise<SshKeyRef> {
    return { ref: '', publicKey: key.publicKey };
  }

  async launch(request: LaunchRequest): Promise<{ id: string }> {
    if (!request.image) {
      throw providerError(NAME, 'invalid', { message: 'a RunPod pod is the dev container and needs an image from a registry' });
    }
    const launch = request.offer.launch;
    const body = {
      name: request.name,
      image: request.image,
      gpu: { id: launch.gpuId, count: launch.count },
      cloud: launch.cloud,
      ...(launch.dataCenterId ? { dataCenterIds: [launch.dataCenterId] } : {}),
      ...(request.diskGb ? { disk: request.diskGb } : {}),
      ports: ['22/tcp'],
      startSsh: true,
      env: { PUBLIC_KEY: request.sshKey.publicKey },
    };
    const pod = record(await this.call('POST', '/pods', { body, signal: request.signal, idempotent: false }));
    if (typeof pod?.id !== 'string') throw unexpected(NAME, 'launch answer (no pod id)');
    return { id: pod.id };
  }

  async get(id: string, signal?: AbortSignal): Promise<Instance | undefined> {
    return toInstance(await unlessGone(this.call('GET', `/pods/${encodeURIComponent(id)}`, { signal }), undefined));
  }

  async list(signal?: AbortSignal): Promise<Instance[]> {
    const pods = record(await this.call('GET', '/pods', { signal }))?.pods;
    return (Array.isArray(pods) ? pods : []).map(toInstance).filter((i): i is Instance => i !== undefined);
  }

  async stop(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('POST', `/pods/${encodeURIComponent(id)}/action`, { body: { action: 'stop' }, signal, idempotent: true });
  }

  async terminate(id: string, signal?: AbortSignal): Promise<void> {
    await unlessGone(this.call('DELETE', `/pods/${encodeURIComponent(id)}`, { signal }), undefined);
  }
}

function toInstance(value: unknown): Instance | undefined {
  const raw = record(value);
  if (!raw || typeof raw.id !== 'string') return undefined;
  const status = String(raw.status ?? '');
  const state = STATES[status] ?? 'error';
  const direct = record(record(raw.ssh)?.direct);
  const gpu = record(raw.gpu);
  return {
    backend: NAME,
    id: raw.id,
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    state,
    providerState: status,
    billing: state === 'pending' || state === 'running',
    ...(typeof gpu?.id === 'string' ? { instanceType: `${gpu.id} x${String(gpu.count ?? 1)}` } : {}),
    ...(typeof raw.dataCenterId === 'string' ? { region: raw.dataCenterId } : {}),
    ...(typeof raw.cost === 'number' ? { pricePerHour: raw.cost } : {}),
    // Only the direct endpoint carries rsync and port forwarding; the proxy is a shell only.
    ...(direct && typeof direct.host === 'string' && typeof direct.port === 'number' && state === 'running'
      ? { ssh: { host: direct.host, port: direct.port, user: typeof direct.username === 'string' ? direct.username : 'root' } } : {}),
    ...(typeof raw.createdAt === 'string' ? { createdAt: raw.createdAt } : {}),
  };
}

export const runpodBackend: BackendDefinition = {
  name: NAME,
  title: 'RunPod',
  defaultBaseUrl: 'https://api.runpod.io',
  baseUrlEnv: 'MLTOOLBOX_RUNPOD_URL',
  capabilities: { stop: true, shape: 'container' },
  create: (options) => new RunpodBackend(options),
};
