import { randomBytes } from 'node:crypto';
import { startEmulatorServer, type BillingReport, type EmulatorResponse, type EmulatorServer, type Route, type SshEndpointForInstances } from './server.ts';

/**
 * RunPod REST v2, as /work/shared/providers/runpod.md describes it: Bearer
 * auth; the GPU catalog with per-GPU float prices and availability per
 * data centre; POST /v2/pods → 201 (unknown properties → 422); capacity
 * exhaustion as a bare 400 with a human `detail`; 402 on balance;
 * application/problem+json errors; RateLimit headers on every answer;
 * PROVISIONING → STARTING → RUNNING with ssh.direct null before; stop →
 * EXITED; DELETE → 204.
 */
export interface RunpodEmulatorOptions {
  apiKey: string;
  ssh?: SshEndpointForInstances;
  bootMs?: number;
}

interface Gpu { id: string; name: string; memory: number; secure: number; community: number; maxCount: number; stock: Map<string, string> }
interface Pod { id: string; name: string; gpu: Gpu; count: number; cloud: string; dataCenterId: string; image: string; env: Record<string, string>; createdAt: number; stoppedAt?: number; terminated?: boolean }

const problem = (status: number, title: string, detail: string, errors?: string[]): EmulatorResponse =>
  ({ status, contentType: 'application/problem+json', body: { title, status, detail, ...(errors ? { errors } : {}) } });

const CREATE_KEYS = new Set(['name', 'image', 'gpu', 'cpu', 'cloud', 'dataCenterIds', 'disk', 'env', 'ports', 'mounts', 'startSsh', 'startJupyter', 'globalNetworking', 'registry', 'args', 'templateId']);

export interface RunpodEmulator extends EmulatorServer, BillingReport {
  setStock(gpuId: string, dataCenter: string, level: 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH'): void;
  lowBalance: boolean;
  pods(): { id: string; status: string; name: string; env: Record<string, string> }[];
}

export async function startRunpodEmulator(options: RunpodEmulatorOptions): Promise<RunpodEmulator> {
  const bootMs = options.bootMs ?? 300;
  const gpus: Gpu[] = [
    { id: 'NVIDIA GeForce RTX 4090', name: 'RTX 4090', memory: 24, secure: 0.69, community: 0.34, maxCount: 8, stock: new Map([['US-KS-2', 'HIGH']]) },
    { id: 'NVIDIA H100 80GB HBM3', name: 'H100 SXM', memory: 80, secure: 2.99, community: 2.69, maxCount: 8, stock: new Map([['US-TX-3', 'LOW'], ['EU-RO-1', 'NONE']]) },
    { id: 'NVIDIA A100 80GB PCIe', name: 'A100 PCIe', memory: 80, secure: 1.64, community: 1.19, maxCount: 4, stock: new Map([['CA-MTL-1', 'MEDIUM']]) },
  ];
  const pods = new Map<string, Pod>();
  const state = { lowBalance: false };

  const status = (p: Pod): string => {
    if (p.terminated) return 'TERMINATED';
    if (p.stoppedAt !== undefined) return 'EXITED';
    const age = Date.now() - p.createdAt;
    return age >= bootMs ? 'RUNNING' : age >= bootMs / 2 ? 'STARTING' : 'PROVISIONING';
  };
  const podJson = (p: Pod) => {
    const s = status(p);
    const running = s === 'RUNNING';
    const host = options.ssh?.host ?? '127.0.0.1';
    const port = options.ssh?.port ?? 22;
    return {
      id: p.id, name: p.name, image: p.image, args: '', disk: 50, ports: ['22/tcp'], env: p.env, registry: null, status: s,
      actions: running ? ['stop', 'restart', 'terminate'] : s === 'EXITED' ? ['start', 'terminate'] : ['terminate'],
      mounts: {}, gpu: { id: p.gpu.id, count: p.count }, cloud: p.cloud, dataCenterId: p.dataCenterId, cudaVersion: running ? '12.8' : null,
      ssh: {
        proxy: running ? { host: 'ssh.runpod.io', port: 22, username: `${p.id}-64411eb2`, command: `ssh ${p.id}-64411eb2@ssh.runpod.io` } : null,
        direct: running ? { host, port, username: options.ssh?.user ?? 'root', command: `ssh root@${host} -p ${port}` } : null,
      },
      template: null, cost: Math.round((p.cloud === 'SECURE' ? p.gpu.secure : p.gpu.community) * p.count * 1000) / 1000,
      locked: false, runtime: running ? { uptimeSeconds: Math.round((Date.now() - p.createdAt - bootMs) / 1000) } : null,
      createdAt: new Date(p.createdAt).toISOString(), startedAt: running ? new Date(p.createdAt + bootMs).toISOString() : null, globalNetworking: false,
    };
  };
  const live = (id: string) => {
    const p = pods.get(id);
    return p && !p.terminated ? p : undefined;
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/v2\/catalog\/gpus$/, name: 'types', handle: (r) => {
      const count = Number(r.query.get('count') ?? 1);
      const withAvailability = r.query.get('include') === 'AVAILABILITY';
      const levels = ['NONE', 'LOW', 'MEDIUM', 'HIGH'];
      return {
        status: 200,
        body: {
          gpus: gpus.map((g) => ({
            id: g.id, name: g.name, pool: 'POOL', manufacturer: 'NVIDIA', memory: g.memory, secure: true, community: true,
            price: { secure: g.secure, community: g.community }, maxCount: { secure: g.maxCount, community: Math.max(1, g.maxCount / 2) },
            ...(withAvailability ? {
              availability: [...g.stock.values()].reduce((best, l) => (levels.indexOf(l) > levels.indexOf(best) ? l : best), 'NONE'),
              dataCenters: [...g.stock].map(([id, level]) => ({ id, name: id, availability: count > g.maxCount ? 'NONE' : level })),
            } : {}),
          })),
        },
      };
    } },
    { method: 'POST', pattern: /^\/v2\/pods$/, name: 'launch', handle: (r) => {
      const body = (r.body ?? {}) as Record<string, unknown>;
      const unknown = Object.keys(body).filter((k) => !CREATE_KEYS.has(k));
      if (unknown.length) return problem(422, 'Unprocessable Entity', 'request body does not match the schema', unknown.map((k) => `unexpected property ${k}`));
      if (typeof body.name !== 'string' || !body.name || typeof body.image !== 'string') return problem(422, 'Unprocessable Entity', 'name and image are required');
      const wanted = body.gpu as { id?: string; count?: number } | undefined;
      const gpu = gpus.find((g) => g.id === wanted?.id);
      if (!gpu) return problem(400, 'Bad Request', `unknown GPU type ${String(wanted?.id)}`);
      if (state.lowBalance) return problem(402, 'Payment Required', 'insufficient balance to deploy this pod');
      const count = wanted?.count ?? 1;
      const centres = (body.dataCenterIds as string[] | undefined) ?? [...gpu.stock.keys()];
      const place = centres.find((c) => (gpu.stock.get(c) ?? 'NONE') !== 'NONE');
      // No machine-readable code for this: only words.
      if (!place || count > gpu.maxCount) return problem(400, 'Bad Request', 'There are no longer any instances available with the requested specifications. Please refresh and try again.');
      const pod: Pod = { id: randomBytes(7).toString('hex'), name: body.name, gpu, count, cloud: String(body.cloud ?? 'SECURE'), dataCenterId: place, image: body.image, env: (body.env ?? {}) as Record<string, string>, createdAt: Date.now() };
      pods.set(pod.id, pod);
      return { status: 201, body: podJson(pod) };
    } },
    { method: 'GET', pattern: /^\/v2\/pods$/, name: 'list', handle: () => ({ status: 200, body: { pods: [...pods.values()].filter((p) => !p.terminated).map(podJson) } }) },
    { method: 'GET', pattern: /^\/v2\/pods\/([^/]+)$/, name: 'get', handle: (r) => {
      const p = live(r.params[0]!);
      return p ? { status: 200, body: podJson(p) } : problem(404, 'Not Found', `pod ${r.params[0]} not found`);
    } },
    { method: 'DELETE', pattern: /^\/v2\/pods\/([^/]+)$/, name: 'terminate', handle: (r) => {
      const p = live(r.params[0]!);
      if (!p) return problem(404, 'Not Found', `pod ${r.params[0]} not found`);
      p.terminated = true;
      return { status: 204 };
    } },
    { method: 'POST', pattern: /^\/v2\/pods\/([^/]+)\/action$/, name: 'action', handle: (r) => {
      const p = live(r.params[0]!);
      if (!p) return problem(404, 'Not Found', `pod ${r.params[0]} not found`);
      const action = (r.body as { action?: string } | undefined)?.action;
      if (action === 'stop') {
        if (status(p) !== 'RUNNING') return problem(409, 'Conflict', `cannot stop a pod in status ${status(p)}`);
        p.stoppedAt = Date.now();
        return { status: 200, body: podJson(p) };
      }
      if (action === 'terminate') {
        p.terminated = true;
        return { status: 204 };
      }
      return problem(422, 'Unprocessable Entity', `unsupported action ${String(action)}`);
    } },
  ];

  const server = await startEmulatorServer(routes.map((route) => ({
    ...route,
    handle: async (request) => {
      const reply = await route.handle(request);
      return { ...reply, headers: { RateLimit: 'limit=60, remaining=59, reset=60', 'RateLimit-Policy': '60;w=60', ...reply.headers } };
    },
  })), {
    authorize: (r) => {
      const header = String(r.headers.authorization ?? '');
      if (!header) return problem(401, 'Unauthorized', 'missing bearer token');
      return header === `Bearer ${options.apiKey}` ? undefined : problem(401, 'Unauthorized', 'invalid api key');
    },
  });
  return {
    ...server,
    billable: () => [...pods.values()].filter((p) => ['PROVISIONING', 'STARTING', 'RUNNING'].includes(status(p))).map((p) => p.id),
    setStock(gpuId, dataCenter, level) {
      gpus.find((g) => g.id === gpuId)!.stock.set(dataCenter, level);
    },
    get lowBalance() { return state.lowBalance; },
    set lowBalance(value: boolean) { state.lowBalance = value; },
    pods: () => [...pods.values()].map((p) => ({ id: p.id, status: status(p), name: p.name, env: p.env })),
  };
}
