import { randomUUID } from 'node:crypto';
import { startEmulatorServer, type BillingReport, type EmulatorResponse, type EmulatorServer, type Route, type SshEndpointForInstances } from './server.ts';

/**
 * Shadeform API v1, as /work/shared/providers/shadeform.md describes it:
 * X-API-KEY (any case); no envelopes; integer-cent prices with the
 * configuration repeated at the top level; spot duplicates that disagree on
 * `available`; create → creating → pending_provider → pending → active with
 * ip/ssh_port null before; 409 {error_code:"OUT_OF_STOCK"} and
 * INSUFFICIENT_FUNDS; 401 {message}; delete = POST answering 200 with an
 * empty body, then deleting → deleted (gone from the list).
 */
export interface ShadeformEmulatorOptions {
  apiKey: string;
  ssh?: SshEndpointForInstances;
  /** Leave ssh_port null on active instances (the docs' own example): clients must assume 22. */
  nullSshPort?: boolean;
  bootMs?: number;
  deleteMs?: number;
}

interface Catalog { cloud: string; type: string; cloudType: string; gpu: string; gpus: number; vram: number; cents: number; regions: Map<string, boolean>; spot?: boolean }
interface SfInstance { id: string; name: string; item: Catalog; region: string; sshKeyId: string; createdAt: number; deletedAt?: number }

const error = (status: number, code: string, message: string): EmulatorResponse => ({ status, body: { error_code: code, error: message } });

export interface ShadeformEmulator extends EmulatorServer, BillingReport {
  setAvailable(type: string, region: string, available: boolean): void;
  insufficientFunds: boolean;
  instances(): { id: string; status: string; name: string }[];
}

export async function startShadeformEmulator(options: ShadeformEmulatorOptions): Promise<ShadeformEmulator> {
  const bootMs = options.bootMs ?? 300;
  const deleteMs = options.deleteMs ?? 200;
  const catalog: Catalog[] = [
    { cloud: 'massedcompute', type: 'A6000', cloudType: 'gpu_1x_a6000', gpu: 'A6000', gpus: 1, vram: 48, cents: 57, regions: new Map([['kansascity-usa-1', true]]) },
    { cloud: 'hyperstack', type: 'H100', cloudType: 'n3-H100x1', gpu: 'H100', gpus: 1, vram: 80, cents: 190, regions: new Map([['canada-1', true], ['norway-1', false]]) },
    { cloud: 'lambdalabs', type: 'A100_80G', cloudType: 'gpu_1x_a100_sxm4_80gb', gpu: 'A100_80G', gpus: 1, vram: 80, cents: 129, regions: new Map([['us-west-2', true]]), spot: true },
    { cloud: 'crusoe', type: 'H100x8', cloudType: 'h100-80gb-sxm-ib.8x', gpu: 'H100', gpus: 8, vram: 80, cents: 2000, regions: new Map([['us-east1-a', true]]) },
  ];
  const keys: { id: string; name: string; public_key: string; is_default: boolean }[] = [
    { id: randomUUID(), name: 'shadeform-managed', public_key: 'ssh-ed25519 AAAAshadeformmanaged shadeform', is_default: true },
  ];
  const instances = new Map<string, SfInstance>();
  const state = { insufficientFunds: false };

  const status = (i: SfInstance): string => {
    const age = Date.now() - i.createdAt;
    if (i.deletedAt !== undefined) return Date.now() - i.deletedAt >= deleteMs ? 'deleted' : 'deleting';
    if (age >= bootMs) return 'active';
    if (age >= (bootMs * 2) / 3) return 'pending';
    if (age >= bootMs / 3) return 'pending_provider';
    return 'creating';
  };
  const configuration = (c: Catalog) => ({
    memory_in_gb: 64 * c.gpus, storage_in_gb: 512, vcpus: 8 * c.gpus, num_gpus: c.gpus, gpu_type: c.gpu, interconnect: c.gpus > 1 ? 'sxm5' : 'pcie',
    nvlink: c.gpus > 1, vram_per_gpu_in_gb: c.vram, gpu_manufacturer: 'nvidia',
  });
  const typeJson = (c: Catalog, onlyAvailable: boolean) => {
    const onDemand = [...c.regions].map(([region, available]) => ({ region, available, display_name: region, ...(c.spot ? { rental_type: 'on_demand' } : {}) }));
    // The spot duplicate of each region says the opposite about availability, and carries a dollar string.
    const spot = c.spot ? [...c.regions].map(([region, available]) => ({ region, available: !available, display_name: region, rental_type: 'spot', hourly_price: (c.cents / 200).toFixed(2) })) : [];
    const availability = [...onDemand, ...spot].filter((a) => !onlyAvailable || a.available);
    const config = configuration(c);
    return {
      cloud: c.cloud, shade_instance_type: c.type, cloud_instance_type: c.cloudType,
      configuration: { ...config, os_options: ['ubuntu22.04_cuda12.6_shade_os'] },
      // The real responses repeat the configuration at the top level.
      memory_in_gb: config.memory_in_gb, storage_in_gb: config.storage_in_gb, vcpus: config.vcpus, num_gpus: config.num_gpus, gpu_type: config.gpu_type,
      interconnect: config.interconnect, nvlink: config.nvlink,
      hourly_price: c.cents, deployment_type: 'vm', availability, boot_time: { min_boot_in_sec: 300, max_boot_in_sec: 600 },
    };
  };
  const instanceJson = (i: SfInstance) => {
    const s = status(i);
    const active = s === 'active';
    return {
      id: i.id, cloud: i.item.cloud, region: i.region, shade_instance_type: i.item.type, cloud_instance_type: i.item.cloudType,
      cloud_assigned_id: i.id.split('').reverse().join(''), shade_cloud: true, name: i.name,
      configuration: { ...configuration(i.item), os: 'ubuntu22.04_cuda12.6_shade_os' },
      ip: active ? (options.ssh?.host ?? '127.0.0.1') : null,
      ssh_user: options.ssh?.user ?? 'shadeform',
      ssh_port: active && !options.nullSshPort ? (options.ssh?.port ?? 22) : null,
      status: s, status_details: active ? '' : 'Instance created, waiting on provider to spin up instance',
      cost_estimate: active ? '0.01' : '0', hourly_price: i.item.cents,
      active_at: active ? new Date(i.createdAt + bootMs).toISOString() : null, created_at: new Date(i.createdAt).toISOString(), deleted_at: null,
      ssh_key_id: i.sshKeyId,
    };
  };
  const find = (id: string) => {
    const i = instances.get(id);
    return i && status(i) !== 'deleted' ? i : undefined;
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/instances\/types$/, name: 'types', handle: (r) => {
      const q = r.query;
      let items = catalog.filter((c) => (!q.get('cloud') || c.cloud === q.get('cloud')) && (!q.get('num_gpus') || c.gpus === Number(q.get('num_gpus')))
        && (!q.get('gpu_type') || c.gpu === q.get('gpu_type')) && (!q.get('shade_instance_type') || c.type === q.get('shade_instance_type'))
        && (!q.get('region') || c.regions.has(q.get('region')!)));
      if (q.get('sort') === 'price') items = [...items].sort((a, b) => a.cents - b.cents);
      return { status: 200, body: { instance_types: items.map((c) => typeJson(c, q.get('available') === 'true')) } };
    } },
    { method: 'GET', pattern: /^\/sshkeys$/, name: 'sshkeys', handle: () => ({ status: 200, body: { ssh_keys: keys } }) },
    { method: 'POST', pattern: /^\/sshkeys\/add$/, name: 'add-sshkey', handle: (r) => {
      const body = r.body as { name?: string; public_key?: string } | undefined;
      if (!body?.name || !body.public_key) return error(400, 'INVALID_REQUEST', 'name and public_key are required');
      if (keys.some((k) => k.name === body.name)) return error(409, 'INVALID_REQUEST', 'ssh key name must be unique');
      const key = { id: randomUUID(), name: body.name, public_key: body.public_key, is_default: false };
      keys.push(key);
      return { status: 200, body: { id: key.id } };
    } },
    { method: 'POST', pattern: /^\/instances\/create$/, name: 'launch', handle: (r) => {
      const body = (r.body ?? {}) as { cloud?: string; region?: string; shade_instance_type?: string; name?: string; ssh_key_id?: string; shade_cloud?: boolean };
      if (!body.cloud || !body.region || !body.shade_instance_type || !body.name) return error(400, 'INVALID_REQUEST', 'cloud, region, shade_instance_type and name are required');
      const item = catalog.find((c) => c.cloud === body.cloud && c.type === body.shade_instance_type && c.regions.has(body.region!));
      if (!item) return error(400, 'INVALID_REQUEST', `no instance type ${body.shade_instance_type} in ${body.cloud}/${body.region}`);
      if (state.insufficientFunds) return error(409, 'INSUFFICIENT_FUNDS', 'Balance must be a minimum of $5 to launch an instance. Current balance [$-0.0245169203].');
      if (!item.regions.get(body.region)) return error(409, 'OUT_OF_STOCK', 'Out of stock');
      const keyId = body.ssh_key_id ?? keys.find((k) => k.is_default)!.id;
      if (!keys.some((k) => k.id === keyId)) return error(400, 'INVALID_REQUEST', 'ssh key not found');
      const instance: SfInstance = { id: randomUUID(), name: body.name, item, region: body.region, sshKeyId: keyId, createdAt: Date.now() };
      instances.set(instance.id, instance);
      return { status: 200, body: { id: instance.id } };
    } },
    // All non-deleted instances, including `deleting` ones.
    { method: 'GET', pattern: /^\/instances$/, name: 'list', handle: () => ({ status: 200, body: { instances: [...instances.values()].filter((i) => status(i) !== 'deleted').map(instanceJson) } }) },
    { method: 'GET', pattern: /^\/instances\/([^/]+)\/info$/, name: 'get', handle: (r) => {
      const i = find(r.params[0]!);
      return i ? { status: 200, body: instanceJson(i) } : error(404, 'NOT_FOUND', 'instance not found');
    } },
    { method: 'POST', pattern: /^\/instances\/([^/]+)\/delete$/, name: 'terminate', handle: (r) => {
      const i = find(r.params[0]!);
      if (!i) return error(404, 'NOT_FOUND', 'instance not found');
      i.deletedAt ??= Date.now();
      return { status: 200 }; // empty body
    } },
  ];

  const server = await startEmulatorServer(routes, {
    authorize: (r) => (r.headers['x-api-key'] === options.apiKey ? undefined : { status: 401, body: { message: 'Invalid API key' } }),
  });
  return {
    ...server,
    // Billing stops at `deleting`.
    billable: () => [...instances.values()].filter((i) => ['creating', 'pending_provider', 'pending', 'active'].includes(status(i))).map((i) => i.id),
    setAvailable(type, region, available) {
      catalog.find((c) => c.type === type)!.regions.set(region, available);
    },
    get insufficientFunds() { return state.insufficientFunds; },
    set insufficientFunds(value: boolean) { state.insufficientFunds = value; },
    instances: () => [...instances.values()].map((i) => ({ id: i.id, status: status(i), name: i.name })),
  };
}
