import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runProcess } from '../../../../src/infrastructure/process.ts';
import { engineSocketScript, parseEngineSocket, resolveEngineSocket } from '../../../../src/services/containers/engine-socket.ts';

describe('the engine socket on a host', () => {
  it('docker needs no probe; remote.docker_socket always wins', async () => {
    const probe = async () => assert.fail('no probe expected');
    assert.equal(await resolveEngineSocket({ engine: 'docker', where: 'h' }, probe), '/var/run/docker.sock');
    assert.equal(await resolveEngineSocket({ engine: 'auto', socket: '/srv/d.sock', where: 'h' }, probe), '/srv/d.sock');
  });

  it('podman: rootful for root, $XDG_RUNTIME_DIR (or /run/user/UID) for a user — the script run by a real sh', async () => {
    const run = (env: NodeJS.ProcessEnv) => runProcess('sh', ['-c', engineSocketScript('podman')!], { env: { PATH: process.env.PATH, ...env } });
    const uid = process.getuid?.();
    const out = (await run({ XDG_RUNTIME_DIR: '/run/user/1234' })).stdout.trim();
    assert.equal(out, uid === 0 ? '/run/podman/podman.sock' : '/run/user/1234/podman/podman.sock');
  });

  it('auto: the first socket that exists, else Docker\'s; noise before the answer is ignored; nonsense is an error', async () => {
    assert.match(engineSocketScript('auto')!, /for s in \/var\/run\/docker\.sock \/run\/podman\/podman\.sock "\$\{XDG_RUNTIME_DIR:-\/run\/user\/\$\(id -u\)\}\/podman\/podman\.sock"/);
    assert.equal(parseEngineSocket('pyenv: command not found\n/run/podman/podman.sock\n', 'h'), '/run/podman/podman.sock');
    assert.throws(() => parseEngineSocket('', 'h'), (e) => (e as { code?: string }).code === 'DOCKER_UNREACHABLE');
    assert.equal(await resolveEngineSocket({ engine: 'auto', where: 'h' }, async () => '/run/user/5/podman/podman.sock\n'), '/run/user/5/podman/podman.sock');
  });
});
