import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStateStore } from '../../../src/db/index.ts';

const intent = { name: 'mlt-a-1', backend: 'lambda', offerId: 'lambda:gpu_1x_a10:us-east-1', instanceType: 'gpu_1x_a10', region: 'us-east-1', gpu: 'A10', gpuCount: 1, pricePerHour: 0.75, shape: 'vm' as const, ownerPid: 42 };

describe('instances ledger', () => {
  it('records the intent before any id, then the id; ended rows stay but leave the open list', async () => {
    const store = await openStateStore({ file: join(mkdtempSync(join(tmpdir(), 'mlt-db-')), 'state.db') });
    const row = store.recordLaunchIntent(intent);
    assert.equal(row.state, 'launching');
    assert.equal(row.providerId, null);
    assert.equal(row.ownerPid, 42);
    store.updateInstance('mlt-a-1', { providerId: 'abc', state: 'pending' });
    assert.equal(store.findInstanceByProviderId('lambda', 'abc')?.name, 'mlt-a-1');
    assert.deepEqual(store.listInstances({ open: true }).map((r) => r.name), ['mlt-a-1']);
    store.updateInstance('mlt-a-1', { state: 'terminated', endedAt: new Date().toISOString(), ownerPid: null });
    assert.deepEqual(store.listInstances({ open: true }), []);
    assert.equal(store.listInstances().length, 1, 'never deleted');
    assert.throws(() => store.recordLaunchIntent(intent), 'names are unique');
    store.close();
  });
});
