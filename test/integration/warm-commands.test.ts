import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * Warm commands take the short path (bench/exec.ts, bench/config.ts times it):
 * no `ssh -G` / `ssh -O check` while the master answers, no Docker API call
 * before `docker exec`, the validated config from the cache, no `rsync --version`
 * before a sync. These tests hold
 * the other side of it, through the built binary: the short path is never
 * silently wrong — a dead master, a container that is gone, a config edited a
 * moment ago.
 */
describe('warm commands', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let project: string;
  let runtime: string;
  const mlt = (args: string[]) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: project, timeoutMs: 180_000 });
  const controlPath = () => {
    const dir = join(runtime, 'mltoolbox', 'ssh');
    const socket = readdirSync(dir).find((name) => /^[0-9a-f]{16}$/.test(name));
    assert.ok(socket, `no control socket in ${dir}`);
    return join(dir, socket);
  };
  const masterPid = async (): Promise<number | undefined> => {
    const check = await run('ssh', ['-F', harness.ssh.sshConfigFile, '-o', `ControlPath=${controlPath()}`, '-O', 'check', host], { timeoutMs: 10_000 });
    const pid = /pid=(\d+)/.exec(check.stderr)?.[1];
    return pid ? Number(pid) : undefined;
  };
  const config = (greeting: string) => `version: 1\nproject:\n  name: warm-cmds\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  gpus: optional\n  env:\n    GREETING: ${greeting}\n`;
  const longAgo = (file: string) => utimesSync(file, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));

  before(async () => {
    // A short private runtime folder: the control socket lives where the test can find it.
    runtime = mkdtempSync(join(tmpdir(), 'mlt-warm-'));
    sandbox = await createSandbox({ harness, env: { XDG_RUNTIME_DIR: runtime } });
    project = sandbox.projectDir;
    await writeFile(join(project, 'mltoolbox.yaml'), config('one'));
    longAgo(join(project, 'mltoolbox.yaml'));
    const connect = await mlt(['connect', host, '--no-attach']);
    assert.equal(connect.code, 0, connect.stderr);
  });

  after(async () => {
    await mlt(['down', host]);
    const pid = await masterPid().catch(() => undefined);
    if (pid) process.kill(pid, 'SIGTERM');
    rmSync(runtime, { recursive: true, force: true });
  });

  it('a warm exec runs no ssh -G, no -O check, no Docker API call, and reads the config from the cache', async () => {
    await mlt(['exec', host, '--', 'true']); // stores the config (the connect read it in resolve mode)
    const warm = await mlt(['-v', 'exec', host, '--', 'sh', '-c', 'echo "in $(hostname) $GREETING"']);
    assert.equal(warm.code, 0, warm.stderr);
    assert.match(warm.stdout, /^in .+ one$/m);
    assert.match(warm.stderr, /config cache: hit/);
    assert.doesNotMatch(warm.stderr, /ssh -G|-O check|-O forward/);
  });

  it('a warm sync starts one rsync: `rsync --version` is asked once per binary, again after it changes', async () => {
    const real = (await run('sh', ['-c', 'command -v rsync'], { timeoutMs: 10_000 })).stdout.trim();
    const shims = join(runtime, 'shims');
    const log = join(runtime, 'rsync.log');
    mkdirSync(shims, { recursive: true });
    const shim = join(shims, 'rsync');
    writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`);
    chmodSync(shim, 0o755);
    const env = { ...sandbox.env, PATH: `${shims}:${sandbox.env.PATH ?? ''}` };
    const sync = async () => {
      rmSync(log, { force: true });
      const result = await runMltoolbox(['-C', project, 'sync', host], { env, cwd: project, timeoutMs: 180_000 });
      assert.equal(result.code, 0, result.stderr);
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      return { versions: lines.filter((line) => line === '--version').length, transfers: lines.filter((line) => line !== '--version').length };
    };
    assert.deepEqual(await sync(), { versions: 1, transfers: 1 }, 'a new rsync binary is asked');
    assert.deepEqual(await sync(), { versions: 0, transfers: 1 }, 'a warm sync runs rsync once, for the transfer');
    utimesSync(shim, new Date(), new Date(Date.now() + 60_000)); // "upgraded" in place
    assert.deepEqual(await sync(), { versions: 1, transfers: 1 }, 'a changed binary is asked again');
  });

  it('exec passes its own exit code 1 through (the engine CLI uses 1 too: the container is looked up, not assumed)', async () => {
    const failed = await mlt(['exec', host, '--', 'sh', '-c', 'echo out; exit 1']);
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout.trim(), 'out');
  });

  it('after the master was killed (stale socket left behind), exec reconnects and runs', async () => {
    const before = await masterPid();
    assert.ok(before, 'a master runs after connect');
    process.kill(before, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const result = await mlt(['exec', host, '--', 'sh', '-c', 'echo alive']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'alive');
    const now = await masterPid();
    assert.ok(now && now !== before, `a new master runs (was ${before}, now ${now})`);
  });

  it('a config edit is seen by the very next command, even with the same size and an old mtime', async () => {
    const file = join(project, 'mltoolbox.yaml');
    const show = async () => {
      const result = await mlt(['-v', 'config', 'show', 'environment.env.GREETING', '--json']);
      assert.equal(result.code, 0, result.stderr);
      return { value: JSON.parse(result.stdout).result.config, hit: /config cache: hit/.test(result.stderr) };
    };
    await show();
    assert.deepEqual(await show(), { value: 'one', hit: true });
    await writeFile(file, config('two')); // same length as 'one'
    longAgo(file);
    assert.deepEqual(await show(), { value: 'two', hit: false });
    await writeFile(file, config('three'));
    assert.equal((await show()).value, 'three');
    const flagged = await runMltoolbox(['-C', project, 'config', 'show', 'environment.shm_size', '--json'], { env: { ...sandbox.env, MLTOOLBOX_SHM_SIZE: '3g' }, cwd: project });
    assert.equal(JSON.parse(flagged.stdout).result.config, '3g', 'an MLTOOLBOX_* variable is seen at once');
  });

  it('a recorded container removed behind our back is NOT_CONNECTED, not a silent exit 1', async () => {
    await writeFile(join(project, 'mltoolbox.yaml'), config('one'));
    const status = JSON.parse((await mlt(['status', host, '--json'])).stdout).result;
    const id: string = status.container?.id ?? status.containerId;
    assert.ok(id, JSON.stringify(status));
    const removed = await run('docker', ['rm', '-f', id], { timeoutMs: 60_000 });
    assert.equal(removed.code, 0, removed.stderr);
    const result = await mlt(['exec', host, '--', 'true']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /NOT_CONNECTED/);
    assert.match(result.stderr, /mltoolbox connect/);
  });
});
