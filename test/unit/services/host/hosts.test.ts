import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ContainerManager, ExecOptions } from '../../../../src/services/containers/types.ts';
import { UserError } from '../../../../src/core/errors.ts';
import { createContainerHost, createLocalHost, createSshHost, type Host } from '../../../../src/services/host/index.ts';
import { parseTarget } from '../../../../src/services/ssh/target.ts';
import type { SshService } from '../../../../src/services/ssh/types.ts';

describe('local host', () => {
  const host = createLocalHost({ env: { PATH: process.env.PATH } });

  it('runs argv without a shell, with env, workdir and stdin; a missing program is exit 127', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-host-'));
    const result = await host.exec(['sh', '-c', 'printf "%s|%s|" "$GREETING" "$(pwd)"; cat', '$(not run)'], { env: { GREETING: 'hi' }, workdir: dir, input: 'in' });
    assert.deepEqual(result, { exitCode: 0, stdout: `hi|${dir}|in`, stderr: '' });
    assert.equal((await host.exec(['definitely-not-a-program-xyz'])).exitCode, 127);
    assert.equal((await host.execScript('exit "$1"', { args: ['3'] })).exitCode, 3);
  });

  it('reads and writes files (0600 unless told), and a missing file is undefined', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-host-'));
    await host.mkdirp(join(dir, 'a/b'));
    await host.writeFile(join(dir, 'a/b/f'), 'data');
    assert.equal((await stat(join(dir, 'a/b/f'))).mode & 0o777, 0o600);
    assert.equal((await host.readFile(join(dir, 'a/b/f')))?.toString(), 'data');
    assert.equal(await host.readFile(join(dir, 'nope')), undefined);
    assert.equal(await readFile(join(dir, 'a/b/f'), 'utf8'), 'data');
  });

  it('a port on this machine needs no forward, whatever the protocol', async () => {
    assert.equal(host.local, true);
    assert.equal(host.rsync, undefined);
    assert.equal(host.sshArgs, undefined);
    for (const protocol of ['tcp', 'udp'] as const) {
      const forward = await host.forwardPort(8888, { localPort: 9999, protocol });
      assert.equal(forward?.kind, 'published');
      assert.equal(forward?.localPort, 8888);
    }
  });
});

describe('container host', () => {
  function setup() {
    const calls: { exec: [string, readonly string[], ExecOptions | undefined][]; interactive: unknown[][] } = { exec: [], interactive: [] };
    const containers = {
      exec: async (id: string, argv: readonly string[], options?: ExecOptions) => {
        calls.exec.push([id, argv, options]);
        return { exitCode: 0, stdout: Buffer.from('file body').toString('base64'), stderr: '' };
      },
      interactiveCommand: async (id: string, argv: readonly string[], options: unknown) => ['engine', 'exec', id, JSON.stringify(options), ...argv],
      inspect: async () => ({ ports: [{ container: 8888, protocol: 'tcp', hostIp: '127.0.0.1', host: 49153 }] }),
    } as unknown as ContainerManager;
    const engineHost = {
      execInteractive: async (argv: readonly string[], options: unknown) => (calls.interactive.push([argv, options]), 7),
      forwardPort: async (port: number, options: unknown) => ({ kind: 'session', localPort: 18888, port, options, close: async () => {} }),
      address: async () => 'gpu-box.example',
    } as unknown as Host;
    const host = createContainerHost({ containers, id: 'c1', name: 'the dev container on gpu-box', engineHost, workdir: '/workspace' });
    return { host, calls };
  }

  it('exec goes through the engine API in the workdir; a terminal runs the manager\'s own command line on the engine host', async () => {
    const { host, calls } = setup();
    await host.exec(['python', 'train.py'], { env: { A: '1' } });
    assert.deepEqual(calls.exec[0], ['c1', ['python', 'train.py'], { workdir: '/workspace', env: { A: '1' } }]);
    assert.equal(await host.execInteractive(['bash', '-l'], { tty: true, stdin: true }), 7);
    assert.deepEqual(calls.interactive[0], [
      ['engine', 'exec', 'c1', JSON.stringify({ tty: true, stdin: true, workdir: '/workspace' }), 'bash', '-l'],
      { tty: true, stdin: true },
    ]);
    await host.execInteractive(['true'], { tty: false, stdin: false, env: { MLTOOLBOX_EXEC_ID: 't1' } });
    assert.deepEqual(calls.interactive[1]![0], ['engine', 'exec', 'c1', JSON.stringify({ tty: false, stdin: false, workdir: '/workspace', env: { MLTOOLBOX_EXEC_ID: 't1' } }), 'true'],
      'variables reach the engine\'s command line');
  });

  it('without a terminal, the engine host\'s agent runs it when it can (by the engine socket); otherwise the engine\'s command line', async () => {
    const asked: unknown[] = [];
    let answer: number | undefined = 3;
    const { calls } = setup();
    const containers = { interactiveCommand: async (id: string, argv: readonly string[]) => ['engine', 'exec', id, ...argv] } as unknown as ContainerManager;
    const engineHost = {
      execInteractive: async (argv: readonly string[], options: unknown) => (calls.interactive.push([argv, options]), 7),
      execInContainer: async (exec: unknown) => (asked.push(exec), answer),
    } as unknown as Host;
    const host = createContainerHost({ containers, id: 'c1', name: 'c', engineHost, workdir: '/workspace', engineSocket: '/run/podman/podman.sock' });
    assert.equal(await host.execInteractive(['python', 'x.py'], { tty: false, stdin: true, env: { MLTOOLBOX_EXEC_ID: 't1' } }), 3);
    assert.deepEqual(asked, [{ socket: '/run/podman/podman.sock', id: 'c1', argv: ['python', 'x.py'], stdin: true, workdir: '/workspace', env: { MLTOOLBOX_EXEC_ID: 't1' } }]);
    assert.equal(calls.interactive.length, 0);
    answer = undefined; // no channel, an older agent, or the engine refused: nothing ran
    assert.equal(await host.execInteractive(['true'], { tty: false, stdin: false }), 7);
    assert.deepEqual(calls.interactive[0]![0], ['engine', 'exec', 'c1', 'true']);
    await host.execInteractive(['bash'], { tty: true, stdin: true });
    assert.equal(asked.length, 2, 'a terminal never goes through the agent');
    const withoutSocket = createContainerHost({ containers, id: 'c1', name: 'c', engineHost });
    await withoutSocket.execInteractive(['true'], { tty: false, stdin: false });
    assert.equal(asked.length, 2, 'without the engine socket it cannot');
  });

  it('files through sh in the container; ports through what it publishes, forwarded by the engine host', async () => {
    const { host, calls } = setup();
    assert.equal((await host.readFile('/etc/x'))?.toString(), 'file body');
    assert.deepEqual(calls.exec[0]![1].slice(-1), ['/etc/x']);
    const forward = (await host.forwardPort(8888, { localPort: 18888 })) as unknown as { port: number; options: { containerPort: number } };
    assert.equal(forward.port, 49153, 'the published port on the engine host');
    assert.equal(forward.options.containerPort, 8888);
    await assert.rejects(host.forwardPort(9999), /not published/);
    assert.equal(await host.address(), 'gpu-box.example');
  });
});

describe('ssh host', () => {
  // `ssh` is a script that exits 255 (the program's status, or ssh's own failure).
  async function host(masterAlive: boolean): Promise<Host> {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-host-'));
    await writeFile(join(dir, 'ssh'), '#!/bin/sh\nexit 255\n', { mode: 0o755 });
    const ssh = { sshArgs: () => [], rsyncShell: () => 'ssh', rsyncRemote: () => 'h:', check: async () => masterAlive, fastChannel: () => undefined } as unknown as SshService;
    return createSshHost({ name: 'gpu-box', ssh, target: parseTarget('gpu-box'), env: { PATH: `${dir}:${process.env.PATH}` }, holderDir: () => undefined });
  }

  it('an interactive exit 255 with the shared connection alive is the program\'s status', async () => {
    assert.equal(await (await host(true)).execInteractive(['false'], { tty: false, stdin: false }), 255);
  });

  it('an interactive exit 255 with the shared connection gone is SSH_CONNECTION_LOST, never a silent 255', async () => {
    await assert.rejects((await host(false)).execInteractive(['sleep', '100'], { tty: false, stdin: false }),
      (e: unknown) => e instanceof UserError && e.code === 'SSH_CONNECTION_LOST' && e.data?.host === 'gpu-box');
  });
});
