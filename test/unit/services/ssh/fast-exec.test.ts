import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { startServer } from '../../../../src/agent/serve.ts';
import { fastContainerExec, fastExec } from '../../../../src/services/ssh/fast-exec.ts';

const TOKEN = 'cd'.repeat(32);

describe('fastExec through the master\'s forwarded socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlt-fast-exec-'));
  const started = startServer({ idleMs: 60_000, token: TOKEN, log: () => undefined, cwd: '/', env: { PATH: process.env.PATH } });
  const servers: Server[] = [];
  after(async () => {
    (await started).server.close();
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** What the master does for `-L SOCKET:127.0.0.1:PORT`: a local socket whose connections reach the server. */
  const forwardTo = async (socket: string, port: number) => {
    // Half-open both ways, as ssh's channels are: the client's end of stdin is not the end of the reply.
    const server = createServer({ allowHalfOpen: true }, (local) => {
      const remote = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      local.pipe(remote).pipe(local);
      remote.on('error', () => local.destroy());
      local.on('error', () => remote.destroy());
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  };
  /** A PATH whose ssh records that it ran and fails, as a master that cannot be reached would. */
  const failingSsh = () => {
    const bin = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(join(bin, 'ssh'), `#!/bin/sh\necho ran >> ${JSON.stringify(join(bin, 'ran'))}\nexit 255\n`);
    chmodSync(join(bin, 'ssh'), 0o755);
    return { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, ran: () => existsSync(join(bin, 'ran')) };
  };
  const run = async (socket: string, env: NodeJS.ProcessEnv) => {
    const { port } = await started;
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await fastExec({
      sshArgs: ['-W', `127.0.0.1:${port}`, 'host'], channel: { port, token: TOKEN }, command: 'cat; exit 4', stdin: true, env,
      io: { stdin: Readable.from(['through the socket\n']), stdout, stderr: new PassThrough() }, forward: { socket, addArgs: ['-O', 'forward'] }, timeoutMs: 10_000,
    });
    return { code, out };
  };

  it('uses the forwarded socket when it answers: no ssh process at all', async () => {
    const socket = join(dir, 'live.fwd');
    await forwardTo(socket, (await started).port);
    const ssh = failingSsh();
    assert.deepEqual(await run(socket, ssh.env), { code: 4, out: 'through the socket\n' });
    assert.equal(ssh.ran(), false);
  });

  it('a refused socket (its master exited) is removed and the forward asked again; when that fails too, the command is not run', async () => {
    const socket = join(dir, 'stale.fwd');
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(socket, resolve));
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    writeFileSync(socket, ''); // what an exited master leaves behind: a path nothing listens on
    const ssh = failingSsh();
    assert.deepEqual(await run(socket, ssh.env), { code: undefined, out: '' });
    assert.equal(ssh.ran(), true, 'ssh was asked to add the forward (then to open -W)');
    assert.equal(existsSync(socket), false, 'the stale file is gone, so the master can bind the path again');
  });

  it('a container request the server refuses comes back as refused (nothing ran), not as a channel that does not answer', async () => {
    const { port } = await started;
    const socket = join(dir, 'refusing.fwd');
    await forwardTo(socket, port);
    const outcome = await fastContainerExec({
      sshArgs: [], channel: { port, token: TOKEN }, stdin: false, env: failingSsh().env, forward: { socket, addArgs: [] }, timeoutMs: 10_000,
      question: { socket: join(dir, 'no-engine.sock'), id: 'c1', argv: ['true'], stdin: false },
      io: { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough() },
    });
    assert.ok(typeof outcome === 'object' && /ENOENT|connect/.test(outcome.refused), JSON.stringify(outcome));
  });
});
