import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localEngineSocket } from '../../../../src/orchestrators/connection/place.ts';

/** environment.engine for `connect local`: the same socket rule as on a host, unless DOCKER_HOST names the engine. */
describe('the local engine socket', () => {
  const probe = (answer: string) => {
    const scripts: string[] = [];
    return { scripts, run: async (script: string) => (scripts.push(script), answer) };
  };

  it('docker (the default) asks nothing: DOCKER_HOST or /var/run/docker.sock, as before', async () => {
    const p = probe('/never');
    assert.equal(await localEngineSocket('docker', {}, p.run), undefined);
    assert.deepEqual(p.scripts, []);
  });

  it('podman: the probe picks rootful or rootless, and its answer is the socket (noise before it ignored)', async () => {
    const p = probe('shell noise\n/run/user/1000/podman/podman.sock\n');
    assert.equal(await localEngineSocket('podman', {}, p.run), '/run/user/1000/podman/podman.sock');
    assert.match(p.scripts[0]!, /podman\.sock/);
  });

  it('auto: the first socket that exists', async () => {
    const p = probe('/run/podman/podman.sock\n');
    assert.equal(await localEngineSocket('auto', {}, p.run), '/run/podman/podman.sock');
    assert.match(p.scripts[0]!, /docker\.sock.*podman\.sock/s);
  });

  it('DOCKER_HOST wins: the user named the engine', async () => {
    const p = probe('/run/podman/podman.sock');
    assert.equal(await localEngineSocket('podman', { DOCKER_HOST: 'unix:///tmp/other.sock' }, p.run), undefined);
    assert.deepEqual(p.scripts, []);
  });

  it('an unreadable answer is DOCKER_UNREACHABLE with what to set', async () => {
    await assert.rejects(localEngineSocket('podman', {}, probe('not a path').run), (e: Error & { code?: string; hint?: string }) => e.code === 'DOCKER_UNREACHABLE' && /docker_socket|engine: docker/.test(e.hint ?? ''));
  });
});
