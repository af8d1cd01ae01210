import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { UserError } from '../../../../src/core/errors.ts';
import { createBackendRegistry } from '../../../../src/backends/registry.ts';
import type { BackendDefinition, Instance, Offer, ProvisioningBackend } from '../../../../src/backends/types.ts';
import { openStateStore } from '../../../../src/db/index.ts';
import { createProvisioningOrchestrator } from '../../../../src/orchestrators/provisioning/provisioning-orchestrator.ts';
import type { LoadedConfig } from '../../../../src/services/config/loader.ts';

/** A backend whose offers and instances the test sets; records what was asked. */
function fakeBackend(name: string, state: { offers: Offer[]; instances: Instance[]; fail?: UserError; calls: string[] }): BackendDefinition {
  const backend: ProvisioningBackend = {
    name, capabilities: { stop: false, shape: 'vm' },
    verify: async () => {},
    listOffers: async () => {
      state.calls.push(`${name}:listOffers`);
      if (state.fail) throw state.fail;
      return state.offers;
    },
    ensureSshKey: async (key) => ({ ref: 'k', publicKey: key.publicKey }),
    launch: async () => ({ id: 'x' }),
    get: async (id) => state.instances.find((i) => i.id === id),
    list: async () => state.instances,
    terminate: async (id) => {
      state.calls.push(`${name}:terminate:${id}`);
      state.instances = state.instances.filter((i) => i.id !== id);
    },
  };
  return { name, title: name, defaultBaseUrl: 'https://example.invalid', baseUrlEnv: `X_${name}`, capabilities: backend.capabilities, create: () => backend };
}

const offer = (backend: string, price: number, available = true): Offer => ({
  backend, id: `${backend}:t:r`, instanceType: 't', gpu: 'H100', gpuCount: 1, region: 'r', pricePerHour: price, available, shape: 'vm', launch: {},
});

async function setup(backends: Record<string, { offers: Offer[]; instances: Instance[]; fail?: UserError; calls: string[] }>, extra: { now?: () => number; sleep?: (ms: number) => Promise<void>; isAlive?: (pid: number) => boolean; loadConfig?: () => Promise<LoadedConfig> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mlt-prov-'));
  const store = await openStateStore({ file: join(dir, 'state.db') });
  const secrets = new Map(Object.keys(backends).map((n) => [`provision.${n}.api_key`, 'key']));
  const reporter = createRecordingReporter();
  const notified: string[] = [];
  const orchestrator = createProvisioningOrchestrator({
    env: {}, homeDir: dir, dataDir: dir, projectDir: dir, reporter,
    registry: createBackendRegistry(Object.entries(backends).map(([n, s]) => fakeBackend(n, s))),
    secrets: async () => ({ backend: 'file', get: async (n) => secrets.get(n), set: async () => {}, list: async () => [...secrets.keys()].sort(), remove: async () => true }),
    state: async () => store,
    ssh: async () => { throw new Error('no ssh in unit tests'); },
    loadConfig: async () => ({ config: { provision: {} } }) as unknown as LoadedConfig,
    notify: async (m) => void notified.push(m),
    pid: 1000,
    ...extra,
  });
  return { orchestrator, store, reporter, notified };
}

describe('provisioning orchestrator', () => {
  it('search: all backends, cheapest available first; a failing backend is a warning, all failing is an error', async () => {
    const a = { offers: [offer('a', 3), offer('a', 1, false)], instances: [], calls: [] as string[] };
    const b = { offers: [offer('b', 2)], instances: [], calls: [] as string[], fail: undefined as UserError | undefined };
    const { orchestrator } = await setup({ a, b });
    const found = await orchestrator.search({});
    assert.deepEqual(found.offers.map((o) => [o.backend, o.pricePerHour]), [['b', 2], ['a', 3], ['a', 1]]);
    b.fail = new UserError('PROVIDER_UNAVAILABLE', 'b is down', 'later');
    const partial = await orchestrator.search({});
    assert.deepEqual(partial.warnings, [{ backend: 'b', code: 'PROVIDER_UNAVAILABLE', message: 'b is down' }]);
    assert.deepEqual(partial.offers.map((o) => o.backend), ['a', 'a']);
    await assert.rejects(orchestrator.search({ backend: 'b' }), { code: 'PROVIDER_UNAVAILABLE' });
  });

  it('search --watch polls at the interval until an offer is available, notifies once, and is bounded', async () => {
    let clock = 0;
    const a = { offers: [offer('a', 2, false)], instances: [], calls: [] as string[] };
    const sleeps: number[] = [];
    const { orchestrator, notified } = await setup({ a }, {
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
        if (sleeps.length === 3) a.offers = [offer('a', 2, true)];
      },
    });
    const found = await orchestrator.watch({ intervalMs: 60_000, maxWaitMs: 3_600_000 });
    assert.equal(found.rounds, 4);
    assert.deepEqual(sleeps, [60_000, 60_000, 60_000]);
    assert.equal(notified.length, 1);
    assert.match(notified[0]!, /GPU available: 1x H100 on a \(r\) at \$2\.00\/h/);
    a.offers = [offer('a', 2, false)];
    await assert.rejects(orchestrator.watch({ intervalMs: 60_000, maxWaitMs: 150_000 }), { code: 'NO_OFFER' });
    assert.ok(a.calls.filter((c) => c.endsWith('listOffers')).length <= 4 + 3, 'bounded by maxWait / interval');
  });

  it('reconcile: gone at the provider → terminated; a dead launcher → stray; an unknown mlt- instance → stray; terminate --strays ends them', async () => {
    const running = (id: string, name: string): Instance => ({ backend: 'a', id, name, state: 'running', providerState: 'active', billing: true });
    const a = { offers: [], instances: [running('p1', 'mlt-x-1'), running('p3', 'mlt-lost-db')], calls: [] as string[] };
    const { orchestrator, store } = await setup({ a }, { isAlive: (pid) => pid === 2000 });
    const base = { backend: 'a', offerId: 'o', instanceType: 't', region: 'r', gpu: 'H100', gpuCount: 1, pricePerHour: 1, shape: 'vm' as const };
    store.recordLaunchIntent({ ...base, name: 'mlt-x-1', providerId: 'p1', state: 'pending', ownerPid: 999 }); // its command died
    store.recordLaunchIntent({ ...base, name: 'mlt-x-2', providerId: 'p2', state: 'running' }); // gone at the provider
    store.recordLaunchIntent({ ...base, name: 'mlt-x-3', state: 'launching', ownerPid: 2000 }); // still launching elsewhere
    const { instances } = await orchestrator.reconcile();
    const byName = new Map(instances.map((i) => [i.name, i]));
    assert.equal(byName.get('mlt-x-1')?.stray, true);
    assert.equal(store.getInstance('mlt-x-2')?.state, 'terminated');
    assert.equal(byName.get('mlt-x-3')?.state, 'launching', 'a launch in flight in a live process is left alone');
    assert.equal(byName.get('mlt-lost-db')?.stray, true, 'an mlt- instance the ledger never saw is adopted as a stray');
    const ended = await orchestrator.terminate({ strays: true });
    assert.deepEqual(ended.terminated.map((t) => t.name).sort(), ['mlt-lost-db', 'mlt-x-1']);
    assert.deepEqual(a.instances, []);
  });

  it('an instance that never becomes active is given up at provision.ready_timeout_minutes and terminated (nothing left billing)', async () => {
    const a = { offers: [offer('a', 1)], instances: [{ backend: 'a', id: 'x', name: 'mlt-slow', state: 'pending', providerState: 'booting', billing: true } as Instance], calls: [] as string[] };
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { orchestrator, store } = await setup({ a }, {
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
      loadConfig: async () => ({ config: { project: { name: 'p' }, provision: { ready_timeout_minutes: 2 } } }) as unknown as LoadedConfig,
    });
    const started = clock;
    await assert.rejects(orchestrator.provision({ gpu: 'H100', name: 'mlt-slow' }),
      (e: UserError) => e.code === 'INSTANCE_NOT_READY' && /not active within 2 min \(still booting\)/.test(e.message) && /terminated/.test(e.hint));
    assert.ok(clock - started >= 2 * 60_000 && clock - started <= 2 * 60_000 + 3000, `waited ${clock - started} ms (bounded by the setting)`);
    assert.ok(a.calls.includes('a:terminate:x'), a.calls.join(' '));
    assert.deepEqual(a.instances, [], 'nothing bills');
    assert.equal(store.getInstance('mlt-slow')?.state, 'terminated');
  });
});
