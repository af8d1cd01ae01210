import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isLocalPortFree, nextFreeLocalPort } from '../../../../src/services/ports/local-ports.ts';
import { mergePortSpecs, parsePortSpec } from '../../../../src/services/ports/port-spec.ts';

describe('parsePortSpec', () => {
  it('reads PORT, LOCAL:REMOTE, loopback-addressed and numeric forms', () => {
    assert.deepEqual(parsePortSpec('8888'), { local: 8888, remote: 8888 });
    assert.deepEqual(parsePortSpec('9000:8888'), { local: 9000, remote: 8888 });
    assert.deepEqual(parsePortSpec('127.0.0.1:9000:8888'), { local: 9000, remote: 8888 });
    assert.deepEqual(parsePortSpec(6006), { local: 6006, remote: 6006 });
  });
  it('refuses non-loopback addresses and bad ports with a usage hint', () => {
    assert.throws(() => parsePortSpec('0.0.0.0:80:80'), (e: Error & { code?: string }) => e.code === 'USAGE' && /127\.0\.0\.1 only/.test((e as unknown as { hint: string }).hint));
    for (const bad of ['0', '70000', 'abc', '1:2:3:4', '']) assert.throws(() => parsePortSpec(bad), { name: 'UserError' });
  });
  it('flags override config for the same container port', () => {
    assert.deepEqual(mergePortSpecs([{ local: 8888, remote: 8888 }, { local: 6006, remote: 6006 }], [{ local: 9999, remote: 8888 }]), [
      { local: 9999, remote: 8888 },
      { local: 6006, remote: 6006 },
    ]);
  });
});

describe('local ports', () => {
  it('a port in use is not free, and the next free one is offered', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const busy = (server.address() as { port: number }).port;
    try {
      assert.equal(await isLocalPortFree(busy), false);
      const next = await nextFreeLocalPort(busy);
      assert.ok(next !== undefined && next > busy);
    } finally {
      server.close();
    }
  });
});
