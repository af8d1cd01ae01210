import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSandbox, run, runMltoolbox, useHarness, waitFor, type Sandbox, provisionProjectYaml } from '../harness/index.ts';
import { startRelay } from '../harness/relay.ts';
import { startLambdaEmulator, type LambdaEmulator } from '../emulators/lambda.ts';

const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));
const LAMBDA_KEY = 'secret_lambda.ops';

interface OperationBody {
  id: string;
  kind: string;
  state: string;
  title: string;
  result: unknown;
  error: { code: string; message: string } | null;
  worker: { pid: number; machine: string } | null;
  cancelledBy: string | null;
}

/**
 * Operations through the built binary (docs/relay.md#operations): `connect`
 * against the harness sshd and dockerd, `provision` against the Lambda
 * emulator, each followed with --op and detached with Ctrl-C (or started
 * with --background), re-attached with `ops watch`, the result queryable
 * with `ops list --json`; and `ops cancel` stopping a provision (nothing
 * left billing), a sync (its rsync ends) and a connect.
 */
describe('operations', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let lambda: LambdaEmulator;
  let userToken: string;
  const host = harness.ssh.alias;
  const mlt = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
    runMltoolbox(args, { env: { ...sandbox.env, ...options.env }, cwd: sandbox.projectDir, timeoutMs: 180_000, ...(options.input === undefined ? {} : { input: options.input }) });
  const json = async (args: string[], options: { env?: NodeJS.ProcessEnv } = {}) => {
    const result = await mlt([...args, '--json'], options);
    assert.equal(result.code, 0, `${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const listed = async (id: string): Promise<OperationBody | undefined> => (await json(['ops', 'list', '--limit', '100'])).operations.find((o: OperationBody) => o.id === id);
  /** Every process still in the worker's process group (it is the group leader), by `ps`. */
  const groupOf = async (pid: number) => (await run('ps', ['-e', '-o', 'pid=,pgid=,comm='])).stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === String(pid)).map((f) => f[2]!);
  const writeConfig = (extra: string[] = []) => writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'),
    provisionProjectYaml(harness, { name: 'opsdemo', sections: ['relay:', `  url: ${relay.url}`, '  timeout_ms: 5000'], extra }));

  /** Starts `args` with --op, waits until it follows its operation, then Ctrl-C: the CLI detaches, the id is returned. */
  const startAndDetach = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const attached = spawn(process.execPath, [BIN, ...args, '--op'], { cwd: sandbox.projectDir, env: { ...sandbox.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    attached.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => attached.once('exit', (code) => resolve(code)));
    await waitFor(`${args[0]} --op follows its operation`, async () => /following it/.test(err), 60_000);
    attached.kill('SIGINT');
    assert.equal(await exited, 130, err);
    const id = /operation (op-[a-f0-9]{8}) started/.exec(err)?.[1];
    assert.ok(id, err);
    assert.match(err, new RegExp(`detached from ${id}; it goes on`));
    return id!;
  };

  before(async () => {
    lambda = await startLambdaEmulator({ apiKey: LAMBDA_KEY, ip: harness.ssh.host, bootMs: 300, launchIntervalMs: 0 });
    sandbox = await createSandbox({
      harness,
      env: {
        MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'operations-test',
        MLTOOLBOX_LAMBDA_URL: lambda.url, MLTOOLBOX_PROVISION_POLL_MS: '150',
      },
    });
    const created = await mlt(['relay', 'token', 'create', '--name', 'tester']);
    assert.equal(created.code, 0, created.stderr);
    userToken = created.stdout.trim();
    relay = await startRelay(sandbox.env);
    assert.equal((await mlt(['secret', 'set', 'relay_token'], { input: userToken })).code, 0);
    writeConfig();
    writeFileSync(join(sandbox.projectDir, 'train.py'), 'print("ops")\n');
    const added = await mlt(['backend', 'add', 'lambda', '--json'], { input: `${LAMBDA_KEY}\n` });
    assert.equal(added.code, 0, added.stderr);
  });

  after(async () => {
    await mlt(['instances', 'terminate', '--all', '--yes']).catch(() => {});
    await mlt(['down', host]).catch(() => {});
    await relay?.stop();
    await lambda?.close();
  });

  it('connect --op: Ctrl-C detaches, ops watch re-attaches and sees it succeed, ops list has the result; --background too', async () => {
    const id = await startAndDetach(['connect', host]);
    const watched = await mlt(['ops', 'watch', id, '--json']);
    assert.equal(watched.code, 0, watched.stderr);
    const done = JSON.parse(watched.stdout).result as { state: string; result: { container: { action: string; name: string } } };
    assert.equal(done.state, 'succeeded');
    assert.equal(done.result.container.action, 'created');
    // The container is really there, with the project synced into it.
    const exec = await mlt(['exec', host, '--', 'cat', '/workspace/train.py']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /print\("ops"\)/);
    const row = await listed(id);
    assert.deepEqual([row?.kind, row?.state, row?.title], ['connect', 'succeeded', `mltoolbox connect ${host}`]);
    assert.equal((row?.result as { container: { name: string } }).container.name, done.result.container.name);

    const background = await json(['connect', host, '--background']);
    assert.match(background.operation, /^op-[a-f0-9]{8}$/);
    const again = await json(['ops', 'watch', background.operation]);
    assert.equal(again.state, 'succeeded');
    assert.equal(again.result.container.action, 'reused', 'the second connect reuses the running container');
  });

  it('provision --op (Lambda emulator): Ctrl-C detaches, ops watch sees the instance, ops list keeps the result', async () => {
    const id = await startAndDetach(['provision', '--backend', 'lambda', '--gpu', 'A10', '--name', 'mlt-ops-l', '--idle-timeout', '0', '--yes', '--no-connect']);
    try {
      const watched = await mlt(['ops', 'watch', id, '--json']);
      assert.equal(watched.code, 0, watched.stderr);
      const done = JSON.parse(watched.stdout).result as { state: string; result: { instance: { name: string; backend: string; state: string } } };
      assert.equal(done.state, 'succeeded');
      assert.deepEqual([done.result.instance.name, done.result.instance.backend, done.result.instance.state], ['mlt-ops-l', 'lambda', 'running']);
      assert.equal(lambda.billable().length, 1, 'the worker launched exactly one instance');
      assert.deepEqual(lambda.instances().filter((i) => i.status !== 'terminated').map((i) => i.name), ['mlt-ops-l']);
      const row = await listed(id);
      assert.deepEqual([row?.kind, row?.state], ['provision', 'succeeded']);
      assert.equal((row?.result as { instance: { name: string } }).instance.name, 'mlt-ops-l');
      // An operation that has ended cannot be cancelled.
      const refused = await mlt(['ops', 'cancel', id, '--json']);
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(JSON.parse(refused.stdout).error.code, 'OPERATION_FINISHED');
      assert.match(JSON.parse(refused.stdout).error.message, /already succeeded/);
    } finally {
      await mlt(['instances', 'terminate', 'mlt-ops-l', '--yes']);
    }
    assert.deepEqual(lambda.billable(), []);
  });

  it('ops cancel stops a provision while it waits for the instance: it is terminated, nothing bills, the operation is cancelled', async () => {
    const slow = await startLambdaEmulator({ apiKey: LAMBDA_KEY, ip: harness.ssh.host, bootMs: 120_000, launchIntervalMs: 0 });
    const env = { MLTOOLBOX_LAMBDA_URL: slow.url };
    try {
      const started = await json(['provision', '--backend', 'lambda', '--gpu', 'A10', '--name', 'mlt-ops-slow', '--yes', '--no-connect', '--background'], { env });
      const id = started.operation as string;
      await waitFor('the worker launched the instance', async () => slow.billable().length === 1, 60_000);
      const worker = (await listed(id))!.worker!;
      const cancelled = await mlt(['ops', 'cancel', id, '--json'], { env });
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.equal(JSON.parse(cancelled.stdout).result.state, 'cancelled');
      assert.deepEqual(slow.billable(), [], 'the cancelled provision terminated what it launched');
      const row = (await listed(id))!;
      assert.deepEqual([row.state, row.cancelledBy, row.error?.code], ['cancelled', 'tester', 'INTERRUPTED']);
      assert.match(row.error!.message, /provision interrupted/);
      // ops watch of a cancelled operation ends as the CLI's own interrupted command does.
      const watched = await mlt(['ops', 'watch', id, '--json']);
      assert.equal(watched.code, 130, watched.stderr);
      assert.equal(JSON.parse(watched.stdout).error.code, 'OPERATION_CANCELLED');
      assert.match(JSON.parse(watched.stdout).error.message, /cancelled by tester/);
      await waitFor('the worker has exited', async () => (await groupOf(worker.pid)).length === 0, 15_000);
    } finally {
      await slow.close();
    }
  });

  describe('with a slow rsync', () => {
    // rsync from PATH is this wrapper: the real rsync (exec: same process), held to 200 KB/s so there is time to cancel it.
    const slowBin = () => join(sandbox.root, 'slow-rsync-bin');
    const slowEnv = () => ({ PATH: `${slowBin()}:${sandbox.env.PATH ?? ''}` });
    before(async () => {
      mkdirSync(slowBin(), { recursive: true });
      const real = (await run('sh', ['-c', 'command -v rsync'])).stdout.trim();
      writeFileSync(join(slowBin(), 'rsync'), `#!/bin/sh\nexec ${real} --bwlimit=200 "$@"\n`);
      chmodSync(join(slowBin(), 'rsync'), 0o755);
      // 16 MiB that does not compress: ~80 s at 200 KB/s.
      await run('sh', ['-c', 'head -c 16777216 /dev/urandom > "$1"', 'sh', join(sandbox.projectDir, 'weights.bin')]);
    });
    after(async () => {
      await run('rm', ['-f', join(sandbox.projectDir, 'weights.bin')]);
    });

    for (const kind of ['sync', 'connect'] as const) {
      it(`ops cancel stops a ${kind} in the middle of its rsync: rsync and the worker end, the operation is cancelled`, async () => {
        const started = await json([kind, host, '--background'], { env: slowEnv() });
        const id = started.operation as string;
        const worker = (await listed(id))!.worker!;
        await waitFor(`the ${kind} worker runs rsync`, async () => (await groupOf(worker.pid)).includes('rsync'), 60_000);
        const cancelled = await mlt(['ops', 'cancel', id, '--json']);
        assert.equal(cancelled.code, 0, cancelled.stderr);
        assert.equal(JSON.parse(cancelled.stdout).result.state, 'cancelled');
        await waitFor('rsync and the worker have ended', async () => (await groupOf(worker.pid)).length === 0, 15_000);
        const row = (await listed(id))!;
        assert.deepEqual([row.kind, row.state, row.cancelledBy], [kind, 'cancelled', 'tester']);
        // The dashboard's data says the same.
        const body = (await (await fetch(`${relay.url}/api/v1/operations/${id}`, { headers: { authorization: `Bearer ${userToken}` } })).json()) as OperationBody;
        assert.equal(body.state, 'cancelled');
      });
    }
  });
});
