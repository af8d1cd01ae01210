import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isLocalPortFree, nextFreeLocalPort } from '../../../../src/services/ports/local-ports.ts';
import { UserError } from '../../../../src/core/errors.ts';
import { parseVolume } from '../../../../src/services/containers/volume-spec.ts';
import { formatPortMapping, mergePortMappings, parsePortMapping, PORT_MAPPING } from '../../../../src/services/ports/port-spec.ts';

describe('parsePortMapping: the one port vocabulary', () => {
  const tcp = (local: number, container: number) => ({ local, container, protocol: 'tcp' as const });
  it('reads PORT, LOCAL:CONTAINER, loopback-addressed and numeric forms', () => {
    assert.deepEqual(parsePortMapping('8888'), tcp(8888, 8888));
    assert.deepEqual(parsePortMapping('9000:8888'), tcp(9000, 8888));
    assert.deepEqual(parsePortMapping('127.0.0.1:9000:8888'), tcp(9000, 8888));
    assert.deepEqual(parsePortMapping('127.0.0.1:6006:6006/tcp'), tcp(6006, 6006));
    assert.deepEqual(parsePortMapping(6006), tcp(6006, 6006));
  });
  it('keeps the protocol: /udp stays udp', () => {
    assert.deepEqual(parsePortMapping('5353:5353/udp'), { local: 5353, container: 5353, protocol: 'udp' });
    assert.deepEqual(parsePortMapping('127.0.0.1:6006:6006/udp'), { local: 6006, container: 6006, protocol: 'udp' });
    assert.equal(formatPortMapping(parsePortMapping('9000:53/udp')), '9000:53/udp');
    assert.equal(formatPortMapping(parsePortMapping('8888')), '8888:8888');
  });
  it('accepts every string the config schema accepts with a loopback address, and refuses the rest', () => {
    for (const text of ['1', '65535', '1:2', '127.0.0.1:1:2/udp']) {
      assert.ok(PORT_MAPPING.test(text), text);
      parsePortMapping(text);
    }
  });
  it('refuses non-loopback addresses, bad protocols and bad ports with a usage hint', () => {
    assert.throws(() => parsePortMapping('0.0.0.0:80:80'), (e: Error & { code?: string }) => e.code === 'USAGE' && /127\.0\.0\.1 only/.test((e as unknown as { hint: string }).hint));
    for (const bad of ['0', '70000', 'abc', '1:2:3:4', '', '80/sctp', '80/udp/tcp', '99999']) {
      assert.throws(() => parsePortMapping(bad), (e: Error & { code?: string }) => e.code === 'USAGE' && /udp/.test((e as unknown as { hint: string }).hint), bad);
    }
  });
  it('flags override config for the same container port and protocol', () => {
    assert.deepEqual(mergePortMappings([tcp(8888, 8888), tcp(6006, 6006), { local: 53, container: 53, protocol: 'udp' }], [tcp(9999, 8888)]), [
      tcp(9999, 8888),
      tcp(6006, 6006),
      { local: 53, container: 53, protocol: 'udp' },
    ]);
  });
});

describe('parseVolume: the one docker -v reader', () => {
  const invalid = (e: unknown) => e instanceof UserError && e.code === 'CONTAINER_SPEC_INVALID' && /environment\.volumes/.test(e.hint);
  it('tells binds from named and anonymous volumes; ./paths are in the project folder on the host', () => {
    assert.deepEqual(parseVolume('/data:/data:ro', '/w'), { type: 'bind', source: '/data', target: '/data', readOnly: true });
    assert.deepEqual(parseVolume('hf-cache:/root/.cache/huggingface', '/w'), { type: 'volume', source: 'hf-cache', target: '/root/.cache/huggingface', readOnly: false });
    assert.deepEqual(parseVolume('./data:/data', '/home/me/proj'), { type: 'bind', source: '/home/me/proj/data', target: '/data', readOnly: false });
    assert.deepEqual(parseVolume('/cache', '/w'), { type: 'volume', target: '/cache' });
  });
  it('refuses a relative target, a bad mode, ~ and odd names', () => {
    for (const bad of ['/a:b', '/a:/b:rx', 'a', '~/x:/x', 'a b:/x', '/a:/b:ro:x']) assert.throws(() => parseVolume(bad, '/w'), invalid, bad);
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
