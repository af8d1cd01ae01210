import { randomBytes } from 'node:crypto';
import { CLOUDFLARE_429, startEmulatorServer, type BillingReport, type EmulatorRequest, type EmulatorResponse, type EmulatorServer, type Route } from './server.ts';

/**
 * Lambda Cloud API v1, as /work/shared/providers/lambda.md describes it:
 * three auth forms; `{data}` / `{error:{code,message,suggestion}}`; the
 * instance-types map including types without capacity; one instance per
 * launch, exactly one ssh key; `booting` with ip null, then `active` with
 * an ip; terminate → terminating → terminated → gone; 1 launch per 12 s
 * (configurable) answered with a JSON or a Cloudflare HTML 429.
 */
export interface LambdaEmulatorOptions {
  apiKey: string;
  /** The address instances get once active (the harness sshd for real connects). */
  ip?: string;
  bootMs?: number;
  terminateMs?: number;
  /** Enforce the launch rate limit (ms between launches); 0 = off. */
  launchIntervalMs?: number;
  /** How the 429 of the rate limit looks. */
  rateLimitBody?: 'json' | 'html';
}

interface TypeSpec { name: string; gpu: string; cents: number; gpus: number; regions: Set<string> }
interface LambdaInstance { id: string; name: string; type: TypeSpec; region: string; sshKey: string; createdAt: number; terminatedAt?: number }

export const LAMBDA_REGIONS = ['us-east-1', 'us-west-1', 'us-west-2', 'us-south-1', 'europe-central-1', 'asia-northeast-1'];

const error = (status: number, code: string, message: string, suggestion?: string): EmulatorResponse =>
  ({ status, body: { error: { code, message, ...(suggestion ? { suggestion } : {}) } } });

export interface LambdaEmulator extends EmulatorServer, BillingReport {
  setCapacity(type: string, regions: readonly string[]): void;
  instances(): { id: string; status: string; name: string }[];
}

export async function startLambdaEmulator(options: LambdaEmulatorOptions): Promise<LambdaEmulator> {
  const bootMs = options.bootMs ?? 300;
  const terminateMs = options.terminateMs ?? 200;
  const types = new Map<string, TypeSpec>([
    ['gpu_1x_a10', { name: 'gpu_1x_a10', gpu: 'A10 (24 GB PCIe)', cents: 75, gpus: 1, regions: new Set(['us-east-1']) }],
    ['gpu_1x_a100', { name: 'gpu_1x_a100', gpu: 'A100 (40 GB PCIe)', cents: 129, gpus: 1, regions: new Set(['us-west-2']) }],
    ['gpu_1x_h100_pcie', { name: 'gpu_1x_h100_pcie', gpu: 'H100 (80 GB PCIe)', cents: 249, gpus: 1, regions: new Set(['us-east-1', 'us-west-1']) }],
    ['gpu_8x_h100_sxm5', { name: 'gpu_8x_h100_sxm5', gpu: 'H100 (80 GB SXM5)', cents: 2392, gpus: 8, regions: new Set(['us-south-1']) }],
    ['gpu_1x_gh200', { name: 'gpu_1x_gh200', gpu: 'GH200 (96 GB)', cents: 149, gpus: 1, regions: new Set() }],
    ['cpu_4x_general', { name: 'cpu_4x_general', gpu: '', cents: 10, gpus: 0, regions: new Set(['us-east-1']) }],
  ]);
  const sshKeys: { id: string; name: string; public_key: string }[] = [];
  const instances = new Map<string, LambdaInstance>();
  let lastLaunch = -Infinity;

  const status = (i: LambdaInstance): string => {
    const now = Date.now();
    if (i.terminatedAt !== undefined) return now - i.terminatedAt >= terminateMs ? 'terminated' : 'terminating';
    return now - i.createdAt >= bootMs ? 'active' : 'booting';
  };
  const typeJson = (t: TypeSpec) => ({
    name: t.name, description: t.gpus ? `${t.gpus}x ${t.gpu}` : '4x CPU', gpu_description: t.gpu, price_cents_per_hour: t.cents,
    specs: { vcpus: 26 * Math.max(1, t.gpus), memory_gib: 200 * Math.max(1, t.gpus), storage_gib: 1000, gpus: t.gpus },
  });
  const action = (available: boolean) => ({ available, ...(available ? {} : { reason_code: 'vm-has-not-launched', reason_description: 'not launched' }) });
  const instanceJson = (i: LambdaInstance) => {
    const s = status(i);
    return {
      id: i.id, name: i.name, status: s,
      // The quirk: no address while booting (null, or absent).
      ip: s === 'active' ? (options.ip ?? '127.0.0.1') : null, private_ip: null, hostname: null,
      region: { name: i.region, description: i.region }, instance_type: typeJson(i.type),
      ssh_key_names: [i.sshKey], file_system_names: [], workspace_id: 'a1b2c3', // unknown fields must be ignored
      actions: { migrate: action(false), rebuild: action(false), restart: action(s === 'active'), cold_reboot: action(false), terminate: action(s !== 'terminated') },
    };
  };
  const visible = () => [...instances.values()].filter((i) => status(i) !== 'terminated');

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/api\/v1\/instance-types$/, name: 'types', handle: () => ({
      status: 200,
      body: { data: Object.fromEntries([...types.values()].map((t) => [t.name, { instance_type: typeJson(t), regions_with_capacity_available: [...t.regions].map((r) => ({ name: r, description: r })) }])) },
    }) },
    { method: 'GET', pattern: /^\/api\/v1\/ssh-keys$/, name: 'ssh-keys', handle: () => ({ status: 200, body: { data: sshKeys.map((k) => ({ ...k, workspace_id: 'a1b2c3' })) } }) },
    { method: 'POST', pattern: /^\/api\/v1\/ssh-keys$/, name: 'add-ssh-key', handle: (r) => {
      const body = r.body as { name?: string; public_key?: string } | undefined;
      if (!body?.name || body.name.length > 64) return error(400, 'global/invalid-parameters', 'Invalid request data.');
      if (sshKeys.some((k) => k.name === body.name)) return error(400, 'global/invalid-parameters', 'SSH key already exists');
      const key = { id: randomBytes(16).toString('hex'), name: body.name, public_key: body.public_key ?? 'ssh-ed25519 AAAAgenerated' };
      sshKeys.push(key);
      return { status: 200, body: { data: key } };
    } },
    { method: 'POST', pattern: /^\/api\/v1\/instance-operations\/launch$/, name: 'launch', handle: (r) => {
      const interval = options.launchIntervalMs ?? 0;
      if (interval > 0 && Date.now() - lastLaunch < interval) {
        return options.rateLimitBody === 'html'
          ? { status: 429, raw: CLOUDFLARE_429, contentType: 'text/html' }
          : { status: 429, body: { error: { code: 'global/rate-limited', message: 'Too many launch requests.' } } };
      }
      lastLaunch = Date.now();
      const body = (r.body ?? {}) as { region_name?: string; instance_type_name?: string; ssh_key_names?: string[]; name?: string; quantity?: number };
      if (body.quantity !== undefined && body.quantity > 1) return error(400, 'global/invalid-parameters', 'Requested too many instances.');
      if (!Array.isArray(body.ssh_key_names) || body.ssh_key_names.length !== 1) return error(400, 'global/invalid-parameters', 'Invalid request data.', 'Exactly one SSH key must be specified.');
      if (!sshKeys.some((k) => k.name === body.ssh_key_names![0])) return error(400, 'global/object-does-not-exist', 'Specified SSH key does not exist.', 'Add the SSH key first.');
      if (!body.region_name || !LAMBDA_REGIONS.includes(body.region_name)) return error(400, 'global/invalid-parameters', `Region ${body.region_name} does not exist.`);
      const type = types.get(body.instance_type_name ?? '');
      if (!type) return error(404, 'global/object-does-not-exist', 'Specified instance type does not exist.', 'Check /instance-types.');
      if (!type.regions.has(body.region_name)) return error(400, 'instance-operations/launch/insufficient-capacity', 'Not enough capacity to fulfill launch request.');
      const instance: LambdaInstance = { id: randomBytes(16).toString('hex'), name: body.name ?? '', type, region: body.region_name, sshKey: body.ssh_key_names[0]!, createdAt: Date.now() };
      instances.set(instance.id, instance);
      return { status: 200, body: { data: { instance_ids: [instance.id] } } };
    } },
    { method: 'GET', pattern: /^\/api\/v1\/instances$/, name: 'list', handle: () => ({ status: 200, body: { data: visible().map(instanceJson) } }) },
    { method: 'GET', pattern: /^\/api\/v1\/instances\/([^/]+)$/, name: 'get', handle: (r) => {
      const i = instances.get(r.params[0]!);
      return i && status(i) !== 'terminated' ? { status: 200, body: { data: instanceJson(i) } } : error(404, 'global/object-does-not-exist', 'Specified instance does not exist.');
    } },
    { method: 'POST', pattern: /^\/api\/v1\/instance-operations\/terminate$/, name: 'terminate', handle: (r) => {
      const ids = (r.body as { instance_ids?: string[] } | undefined)?.instance_ids ?? [];
      const found = ids.map((id) => instances.get(id));
      if (ids.length === 0 || found.some((i) => !i || status(i) === 'terminated')) return error(404, 'global/object-does-not-exist', 'Specified instance does not exist.');
      for (const i of found) i!.terminatedAt ??= Date.now();
      return { status: 200, body: { data: { terminated_instances: found.map((i) => instanceJson(i!)) } } };
    } },
  ];

  const server = await startEmulatorServer(routes, { authorize: (r) => authorizeLambda(r, options.apiKey) });
  return {
    ...server,
    billable: () => [...instances.values()].filter((i) => ['booting', 'active'].includes(status(i))).map((i) => i.id),
    setCapacity(name, regions) {
      types.get(name)!.regions = new Set(regions);
    },
    instances: () => [...instances.values()].map((i) => ({ id: i.id, status: status(i), name: i.name })),
  };
}

/** Bearer KEY, Basic base64(KEY:) and Basic KEY are all accepted; anything else is 401. */
function authorizeLambda(request: EmulatorRequest, key: string): EmulatorResponse | undefined {
  const header = String(request.headers.authorization ?? '');
  const ok = header === `Bearer ${key}` || header === `Basic ${Buffer.from(`${key}:`).toString('base64')}` || header === `Basic ${key}`;
  return ok ? undefined : error(401, 'global/invalid-api-key', 'API key was invalid, expired, or deleted.', 'Check your API key or create a new one, then try again.');
}
