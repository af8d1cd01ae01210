/**
 * The relay under load, on loopback: `relay serve` (the built binary, its
 * own process, SQLite) with N simulated agents each sending one metrics
 * message (8 GPUs) a second, and M dashboard clients following
 * /api/v1/events. Measures:
 *  - the relay's RSS (VmRSS of its process; max over the run), against the
 *    same relay idle (baseline, same run);
 *  - fan-out latency: agent send → dashboard receipt (p50/p99), against a
 *    plain HTTP round trip to the same relay (baseline);
 *  - dropped messages: metrics a dashboard should have seen and did not,
 *    plus the relay's own count of frames it dropped for slow viewers;
 *  - `mlt daemon` (the built agent, a fake nvidia-smi): spawn → online at
 *    the relay, and its RSS, against `node -e 0` (baseline);
 *  - refusals: every route and both sockets, without a token, with a forged
 *    one and with an agent token on user routes: how many were accepted (target 0).
 * Usage: node bench/relay.ts [--seconds S] [--agents N] [--viewers M] [--short]
 *
 * `--compare` measures the memory levers one at a time instead, in one run:
 * the same load against a relay started with each variant (Node flags,
 * glibc malloc and libuv settings, in its environment), the shipped
 * configuration first and last as the baseline (docs/relay.md#memory);
 * `--only WORD,WORD` runs just the variants whose names hold one of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, openRelayStore } from '../src/relay/admin.ts';
import { SUBPROTOCOL, type MetricsSample } from '../src/relay/protocol.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, REPO_ROOT, writeResults } from './lib/report.ts';
import { percentile, summarize } from './lib/stats.ts';
import { startDaemon, startRelay } from '../test/harness/relay.ts';
import { RELAY_NODE_FLAGS } from '../src/orchestrators/images/relay-image.ts';

const short = process.argv.includes('--short');
const seconds = numberFlag('seconds', short ? 10 : 60);
const agentCount = numberFlag('agents', 100);
const viewerCount = numberFlag('viewers', 10);
const refusalRounds = numberFlag('refusal-rounds', short ? 2 : 10);

const dataDir = mkdtempSync(join(tmpdir(), 'mlt-bench-relay-'));
const env = { ...process.env, MLTOOLBOX_DATA_DIR: dataDir, HOME: dataDir, XDG_CONFIG_HOME: join(dataDir, 'config'), MLTOOLBOX_SYSTEM_CONFIG: join(dataDir, 'none.yaml'), NO_COLOR: '1' };

note(`creating 1 user token and ${agentCount} agent tokens`);
const store = await openRelayStore({ dataDir });
const user = (await createToken(store, { name: 'bench', scope: 'user' }, new Date())).token;
const agents: string[] = [];
const daemonToken = (await createToken(store, { name: 'agent@bench-daemon', scope: 'agent', host: 'bench-daemon' }, new Date())).token;
for (let i = 0; i < agentCount; i++) agents.push((await createToken(store, { name: `agent@bench-${i}`, scope: 'agent', host: `bench-${i}` }, new Date())).token);
await store.close();

const rssOf = (pid: number | undefined) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
/** RSS counts the Node binary's pages every node process shares; USS is what the relay alone holds (private pages). */
const ussOf = (pid: number | undefined) => {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return ['Private_Clean', 'Private_Dirty'].reduce((sum, field) => sum + Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(rollup)?.[1] ?? 0) * 1024, 0);
};
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const gpus = Array.from({ length: 8 }, (_, index) => ({ index, uuid: `GPU-${index}`, name: 'NVIDIA H100 80GB HBM3', utilizationPercent: 90, memoryUsedMiB: 70_000, memoryTotalMiB: 81_559, temperatureC: 60, powerDrawW: 600, powerLimitW: 700 }));

interface LoadFigures {
  idleRss: number;
  idleUss: number;
  rssSamples: number[];
  ussSamples: number[];
  latencies: number[];
  sent: number;
  expected: number;
  delivered: number;
  droppedByRelay: number;
}

/**
 * The load itself, against one running relay: M dashboards following
 * /api/v1/events, N agents each sending one metrics message a second for
 * `seconds`, the relay's RSS and USS sampled every second. Every socket is
 * closed before it returns.
 */
async function load(target: { url: string; pid: number | undefined }, seconds: number): Promise<LoadFigures> {
  const { url, pid } = target;
  const sockets: WebSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const idleRss = rssOf(pid);
  const idleUss = ussOf(pid);
  try {
    const latencies: number[] = [];
    const received = new Array<number>(viewerCount).fill(0);
    await Promise.all(Array.from({ length: viewerCount }, (_, v) => new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/events`, [SUBPROTOCOL, `bearer.${user}`]);
      sockets.push(socket);
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error('a dashboard could not connect'));
      socket.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as { type: string; sample?: MetricsSample };
        if (message.type !== 'metrics') return;
        received[v]! += 1;
        latencies.push(Date.now() - message.sample!.at);
      };
    })));
    let sent = 0;
    await Promise.all(agents.map((token, i) => new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/agent`, { protocols: [SUBPROTOCOL], headers: { authorization: `Bearer ${token}` } } as unknown as string[]);
      sockets.push(socket);
      socket.onerror = () => reject(new Error(`agent ${i} could not connect`));
      socket.onopen = () => {
        socket.send(JSON.stringify({ type: 'hello', protocol: 1, version: 'bench', hostname: `bench-${i}`, startedAt: Date.now() }));
        resolve();
      };
    })));
    const rssSamples: number[] = [];
    const ussSamples: number[] = [];
    const started = Date.now();
    await new Promise<void>((resolve) => {
      // Agents start spread over the first second, as real ones would be.
      agents.forEach((_, i) => {
        const socket = sockets[viewerCount + i]!;
        timers.push(setTimeout(() => {
          const tick = () => {
            if (Date.now() - started >= seconds * 1000) return;
            socket.send(JSON.stringify({ type: 'metrics', sample: { at: Date.now(), cpuPercent: 50, memoryUsedBytes: 1e9, memoryTotalBytes: 2e9, gpus } }));
            sent += 1;
          };
          tick();
          timers.push(setInterval(tick, 1000));
        }, (i * 1000) / agents.length));
      });
      timers.push(setInterval(() => {
        rssSamples.push(rssOf(pid));
        ussSamples.push(ussOf(pid));
      }, 1000));
      timers.push(setTimeout(resolve, seconds * 1000 + 2000));
    });
    for (const timer of timers) clearInterval(timer);
    const stats = (await (await fetch(`${url}/api/v1/stats`, { headers: { authorization: `Bearer ${user}` } })).json()) as { dropped: number };
    return { idleRss, idleUss, rssSamples, ussSamples, latencies, sent, expected: sent * viewerCount, delivered: received.reduce((a, b) => a + b, 0), droppedByRelay: stats.dropped };
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.close();
  }
}

/**
 * The levers, one at a time against the shipped configuration (first and
 * last: the baseline, and how much it drifts within the run). Each variant is
 * the relay's environment on top of the bench's: MLTOOLBOX_RELAY_NODE_FLAGS
 * replaces the Node flags `relay serve` starts the relay bundle with.
 */
const SHIPPED = RELAY_NODE_FLAGS.join(' ');
type Variant = { name: string; env: Record<string, string>; floor?: true };
const VARIANTS: Variant[] = [
  { name: `shipped (${SHIPPED})`, env: {} },
  { name: 'no flags', env: { MLTOOLBOX_RELAY_NODE_FLAGS: '' } },
  { name: 'MALLOC_ARENA_MAX=1', env: { MALLOC_ARENA_MAX: '1' } },
  { name: 'MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' } },
  { name: 'UV_THREADPOOL_SIZE=1', env: { UV_THREADPOOL_SIZE: '1' } },
  { name: '+ --v8-pool-size=1', env: { MLTOOLBOX_RELAY_NODE_FLAGS: `${SHIPPED} --v8-pool-size=1` } },
  { name: '+ --single-threaded', env: { MLTOOLBOX_RELAY_NODE_FLAGS: `${SHIPPED} --single-threaded` } },
  { name: '+ --max-old-space-size=16', env: { MLTOOLBOX_RELAY_NODE_FLAGS: `${SHIPPED} --max-old-space-size=16` } },
  { name: 'without --optimize-for-size (session 4)', env: { MLTOOLBOX_RELAY_NODE_FLAGS: '--max-semi-space-size=1 --jitless' } },
  { name: '--lite-mode --max-semi-space-size=1', env: { MLTOOLBOX_RELAY_NODE_FLAGS: '--lite-mode --max-semi-space-size=1' } },
  { name: 'MALLOC_ARENA_MAX=1 + --single-threaded', env: { MALLOC_ARENA_MAX: '1', MLTOOLBOX_RELAY_NODE_FLAGS: `${SHIPPED} --single-threaded` } },
  // The floor: node:http + ws + ajv alone under the same load and flags (bench/lib/relay-floor.mjs), no framework, no relay.
  { name: `floor: node:http + ws + ajv, no framework (${SHIPPED})`, env: {}, floor: true },
  { name: 'shipped again', env: {} },
];

/** A relay for one variant: `relay serve` with its environment, or the floor server. */
async function startVariant(variant: Variant): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  if (!variant.floor) return startRelay({ ...env, ...variant.env });
  const child = spawn(process.execPath, [...RELAY_NODE_FLAGS, join(REPO_ROOT, 'bench/lib/relay-floor.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /relay listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the floor server exited (${code})`)));
  });
  return { url, child, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

if (process.argv.includes('--compare')) {
  // --only a,b: just the variants whose names contain one of those (the shipped baseline, first and last, always runs).
  const only = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1] ?? '').split(',').filter(Boolean) : [];
  const chosen = VARIANTS.filter((v, i) => i === 0 || i === VARIANTS.length - 1 || only.length === 0 || only.some((word) => v.name.includes(word)));
  try {
    const rows: (string | number)[][] = [];
    const saved: unknown[] = [];
    for (const variant of chosen) {
      note(`${variant.name}: ${agentCount} agents × ${seconds} s`);
      const relay = await startVariant(variant);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const figures = await load({ url: relay.url, pid: relay.child.pid }, seconds);
        rows.push([variant.name, MiB(figures.idleRss), MiB(Math.max(...figures.rssSamples)), MiB(Math.max(...figures.ussSamples)), ms(percentile(figures.latencies, 99)), `${figures.expected - figures.delivered} / ${figures.droppedByRelay}`]);
        saved.push({ variant: variant.name, env: variant.env, ...figures, latencies: undefined, p99: percentile(figures.latencies, 99) });
      } finally {
        await relay.stop();
      }
    }
    console.log(`relay memory levers: ${agentCount} agents × 1 msg/s for ${seconds} s, ${viewerCount} dashboards, one relay per variant (${machineNote()})\n`);
    console.log(markdownTable(['variant', 'RSS idle', 'RSS max', 'USS max', 'fan-out p99', 'dropped (dashboards / relay)'], rows));
    note(`figures saved to ${writeResults('relay-compare', { seconds, agents: agentCount, viewers: viewerCount, variants: saved })}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(0);
}

note('starting relay serve');
const relay = await startRelay(env);
const { url } = relay;
try {
  // --- baselines ----------------------------------------------------------------
  await new Promise((r) => setTimeout(r, 1000));
  const http: number[] = [];
  for (let i = 0; i < 50; i++) {
    const start = performance.now();
    await (await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${user}` } })).arrayBuffer();
    http.push(performance.now() - start);
  }

  // --- the real daemon: start to online, and its memory ----------------------------
  note('mlt daemon: start to online');
  const nodeStart: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await new Promise((r) => spawn(process.execPath, ['-e', '0']).once('exit', r));
    nodeStart.push(performance.now() - start);
  }
  const daemonStarted = performance.now();
  const daemon = startDaemon(env, { url, token: daemonToken, fixture: 'h100x8.csv', intervalSeconds: 1 });
  let daemonOnlineMs = Number.NaN;
  for (let i = 0; i < 500; i++) {
    const body = (await (await fetch(`${url}/api/v1/hosts/bench-daemon`, { headers: { authorization: `Bearer ${user}` } })).json().catch(() => ({}))) as { online?: boolean; metrics?: unknown };
    if (body.online && body.metrics) {
      daemonOnlineMs = performance.now() - daemonStarted;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const daemonRss = rssOf(daemon.child.pid);
  await daemon.stop();

  // --- dashboards and agents -------------------------------------------------------
  note(`${viewerCount} dashboard clients, ${agentCount} agents, 1 metrics message a second each, for ${seconds} s`);
  const { idleRss, idleUss, rssSamples, ussSamples, latencies, sent, expected, delivered: got, droppedByRelay } = await load({ url, pid: relay.child.pid }, seconds);
  const stats = { dropped: droppedByRelay };

  // --- refusals -----------------------------------------------------------------
  note('refusal sweep');
  const openapi = (await (await fetch(`${url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${user}` } })).json()) as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(openapi.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), path.replace('{host}', 'bench-0').replace('{container}', 'c1')] as const));
  routes.push(['GET', '/api/v1/openapi.json'], ['GET', '/api/v1/nope']);
  const forged = `mltr_u_${'A'.repeat(12)}_${'B'.repeat(43)}`;
  const status = (method: string, path: string, headers: Record<string, string>) => new Promise<number>((resolve) => {
    const req = request(`${url}${path}`, { method, agent: false, headers: { connection: 'close', ...headers }, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end(method === 'POST' ? '{"argv":["true"]}' : undefined);
  });
  const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': SUBPROTOCOL };
  let attempts = 0;
  let accepted = 0;
  for (let round = 0; round < refusalRounds; round++) {
    for (const [method, path] of routes) {
      for (const headers of [{}, { authorization: `Bearer ${forged}` }, { authorization: 'Bearer x' }, { authorization: `Bearer ${agents[0]}` }] as Record<string, string>[]) {
        const code = await status(method, path, { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) });
        attempts += 1;
        if (code >= 200 && code < 400) accepted += 1;
      }
    }
    for (const path of ['/api/v1/agent', '/api/v1/events']) {
      for (const headers of [{}, { authorization: `Bearer ${forged}` }, { 'sec-websocket-protocol': `${SUBPROTOCOL}, bearer.${forged}` }] as Record<string, string>[]) {
        const code = await status('GET', path, { ...upgrade, ...headers });
        attempts += 1;
        if (code === 101 || (code >= 200 && code < 400)) accepted += 1;
      }
    }
  }

  const lat = summarize(latencies);
  const httpSummary = summarize(http);
  const maxRss = Math.max(...rssSamples);
  console.log(`relay under load: ${agentCount} agents × 1 msg/s for ${seconds} s, ${viewerCount} dashboards (${machineNote()})\n`);
  console.log(markdownTable(['measure', 'value', 'baseline', 'ratio', 'target'], [
    ['relay RSS (max)', MiB(maxRss), `${MiB(idleRss)} idle`, ratio(maxRss, idleRss), '< 64 MiB'],
    ['relay USS, private pages (max)', MiB(Math.max(...ussSamples)), `${MiB(idleUss)} idle`, ratio(Math.max(...ussSamples), idleUss), '—'],
    ['fan-out latency p50', ms(lat.median), `${ms(httpSummary.median)} HTTP round trip`, ratio(lat.median, httpSummary.median), '—'],
    ['fan-out latency p99', ms(percentile(latencies, 99)), `${ms(percentile(http, 99))} HTTP p99`, ratio(percentile(latencies, 99), percentile(http, 99)), '—'],
    ['metrics sent / delivered', `${sent} / ${got} of ${expected}`, '—', '—', 'all'],
    ['dropped (missing at dashboards / counted by relay)', `${expected - got} / ${stats.dropped}`, '—', '—', '0'],
    ['bad-token requests accepted', `${accepted} of ${attempts}`, '—', '—', '0'],
    ['mlt daemon: spawn → online with metrics', ms(daemonOnlineMs), `${ms(summarize(nodeStart).median)} node -e 0`, ratio(daemonOnlineMs, summarize(nodeStart).median), '< 1 s'],
    ['mlt daemon RSS', MiB(daemonRss), '—', '—', '—'],
  ]));
  const file = writeResults('relay', { seconds, agents: agentCount, viewers: viewerCount, idleRss, maxRss, rssSamples, idleUss, ussSamples, latency: { ...lat, p99: percentile(latencies, 99) }, http: httpSummary, sent, expected, delivered: got, droppedByRelay: stats.dropped, refusals: { attempts, accepted }, daemon: { onlineMs: daemonOnlineMs, rss: daemonRss, nodeStartMedian: summarize(nodeStart).median } });
  note(`figures saved to ${file}`);
  process.exitCode = accepted === 0 && expected === got ? 0 : 1;
} finally {
  await relay.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
