import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ProcessResult, ProcessRunner } from '../../../../src/infrastructure/process.ts';
import { createSshManager } from '../../../../src/services/ssh/manager.ts';
import { masterAnswers } from '../../../../src/services/ssh/master-probe.ts';
import { parseTarget } from '../../../../src/services/ssh/target.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-ssh-probe-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ok = (stdout = ''): ProcessResult => ({ code: 0, signal: null, stdout, stderr: '', timedOut: false });
const fail = (): ProcessResult => ({ code: 255, signal: null, stdout: '', stderr: 'Control socket connect: Connection refused', timedOut: false });

/** A stand-in for an ssh master: listens on the control path and greets like OpenSSH (MUX_MSG_HELLO, version 4). */
function fakeMaster(path: string, hello = true): Promise<Server> {
  const server = createServer((socket) => {
    if (hello) socket.write(Buffer.from([0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4]));
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('masterAnswers', () => {
  it('is true for a master that greets, false for a stale socket file, a silent listener or nothing', async () => {
    const path = join(root, 'a.sock');
    const server = await fakeMaster(path);
    assert.equal(await masterAnswers(path), true);
    await close(server);
    assert.equal(await masterAnswers(path), false); // gone
    writeFileSync(join(root, 'stale.sock'), '');
    assert.equal(await masterAnswers(join(root, 'stale.sock')), false);
    const silent = await fakeMaster(join(root, 'silent.sock'), false);
    assert.equal(await masterAnswers(join(root, 'silent.sock'), 200), false);
    await close(silent);
  });
});

describe('SshManager with a master already up', () => {
  it('a later process runs no ssh -G and no -O check; a dead master is found and started again', async () => {
    const stateDir = join(root, 'state');
    const env = { XDG_RUNTIME_DIR: join(root, 'run') };
    let server: Server | undefined;
    const calls: string[][] = [];
    const started = () => calls.some((a) => a.includes('-N'));
    const runner: ProcessRunner = async (_command, args) => {
      calls.push([...args]);
      if (args[0] === '-G') return ok('hostname h\nport 22\nuser u\nstricthostkeychecking true\nconnecttimeout 30\n');
      if (args.includes('-O')) return server ? ok() : fail();
      if (args.includes('-N')) {
        const controlPath = args.find((a) => a.startsWith('ControlPath='))!.slice('ControlPath='.length);
        server = await fakeMaster(controlPath);
        return ok();
      }
      return ok();
    };
    const target = parseTarget('gpu-box');
    const fresh = () => createSshManager({ env, stateDir, homeDir: root, interactive: false, runner, sleep: async () => {} });

    await fresh().connect(target);
    assert.ok(calls.some((a) => a[0] === '-G'));
    assert.ok(started());

    calls.length = 0;
    const warm = fresh();
    await warm.connect(target);
    assert.deepEqual(calls, [], 'no ssh process while the master answers');
    // What ssh -G said when the master started still shapes the options: the user's strict checking stays.
    const options = warm.sshOptions(target);
    assert.ok(!options.includes('StrictHostKeyChecking=accept-new'), options.join(' '));
    assert.ok(!options.some((o) => o.startsWith('ConnectTimeout=')), 'the ssh config sets ConnectTimeout');

    await close(server!);
    server = undefined;
    calls.length = 0;
    await fresh().connect(target);
    assert.ok(calls.some((a) => a[0] === '-G'), 'resolved again');
    assert.ok(started(), 'a new master');
    await close(server!);
  });
});
