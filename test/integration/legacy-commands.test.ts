import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * v2 command lines through the built binary: each reaches its v3 command,
 * prints one deprecation line (hidden by MLTOOLBOX_NO_DEPRECATION=1), and a
 * host typed as v2 did (its host name) finds the saved remote.
 */
describe('v2 commands', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let project: string;
  const mlt = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runMltoolbox(['-C', project, ...args], { env: { ...sandbox.env, ...env }, cwd: sandbox.root, timeoutMs: 180_000 });
  const deprecations = (stderr: string) => stderr.split('\n').filter((l) => l.includes('deprecated:'));

  before(async () => {
    sandbox = await createSandbox({ harness });
    project = sandbox.projectDir;
    await mkdir(join(project, 'outputs'), { recursive: true });
    await writeFile(join(project, 'train.py'), 'print(1)\n');
    await writeFile(join(project, 'outputs', 'result.txt'), 'done\n');
    // Saved under an alias; v2 users typed the host (the harness's ssh config alias).
    const add = await mlt(['remote', 'add', 'box', harness.ssh.alias]);
    assert.equal(add.code, 0, add.stderr);
  });

  it('remote list-remotes -> remote list, with one deprecation line naming the new command', async () => {
    const result = await mlt(['remote', 'list-remotes', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const envelope = JSON.parse(result.stdout);
    assert.equal(envelope.command, 'remote list');
    assert.equal(envelope.result.remotes[0].alias, 'box');
    assert.deepEqual(deprecations(result.stderr), ["! deprecated: 'mltoolbox remote list-remotes' is now 'mltoolbox remote list'"]);
  });

  it('MLTOOLBOX_NO_DEPRECATION=1 hides the line', async () => {
    const result = await mlt(['remote', 'list-remotes'], { MLTOOLBOX_NO_DEPRECATION: '1' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(deprecations(result.stderr), []);
    assert.match(result.stdout, /box/);
  });

  it('--debug remote sync HOST --dryrun -> sync ALIAS --dry-run --verbose, found by host', async () => {
    const result = await mlt(['--debug', 'remote', 'sync', harness.ssh.alias, '--dryrun', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const envelope = JSON.parse(result.stdout);
    assert.equal(envelope.command, 'sync');
    assert.equal(envelope.result.target, 'box');
    assert.equal(envelope.result.summary.dryRun, true);
    assert.match(result.stderr, /'mltoolbox remote sync' is now 'mltoolbox sync'; '--debug' is now '--verbose'; '--dryrun' is now '--dry-run'/);
    assert.match(result.stderr, /is the saved remote 'box'/);
  });

  it('remote sync, then remote fetch HOST PATH -l LOCAL, with an ignored -e', async () => {
    const sync = await mlt(['remote', 'sync', 'box']);
    assert.equal(sync.code, 0, sync.stderr);
    const fetch = await mlt(['remote', 'fetch', harness.ssh.alias, 'outputs/result.txt', '-l', 'back', '-e', '*.ckpt']);
    assert.equal(fetch.code, 0, fetch.stderr);
    assert.match(fetch.stderr, /! -e\/--exclude is ignored/);
    assert.match(fetch.stderr, /'mltoolbox remote fetch' is now 'mltoolbox fetch'/);
    // v3 fetch keeps the path under LOCAL_PATH.
    assert.equal(readFileSync(join(project, 'back', 'outputs', 'result.txt'), 'utf8'), 'done\n');
  });

  it('remote connect --dryrun is a USAGE error saying connect has no dry run', async () => {
    const result = await mlt(['remote', 'connect', 'box', '--dryrun', '--python-version', '3.11.4']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /'mltoolbox connect' has no dry run/);
  });

  it('remote connect with v2-only flags reaches connect (which fails on the missing image, not on the flags)', async () => {
    const result = await mlt(['remote', 'connect', harness.ssh.alias, '--branch-name', 'main', '--variant', 'cuda', '--timeout', '5', '-y', '--skip-sync', '--json'],
      // A registry on a closed loopback port: the pull fails at once and nothing leaves this machine.
      { MLTOOLBOX_BASE_IMAGE: '127.0.0.1:1/mlt-no-such-image:never' });
    assert.equal(JSON.parse(result.stdout).command, 'connect');
    for (const flag of ['--branch-name', '--variant', '--timeout', '-y/--yes']) assert.ok(result.stderr.includes(`! ${flag} is ignored`), `${flag} warning missing:\n${result.stderr}`);
  });

  it('remote datasync up -> datasync up (local mode, a :local: path)', async () => {
    await mkdir(join(project, 'data'), { recursive: true });
    await writeFile(join(project, 'data', 'x.csv'), '1,2\n');
    const target = sandbox.path('ds');
    const result = await mlt(['remote', 'datasync', 'up', '-r', `:local:${target}`, '-l', 'data', '--transfers', '2', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).command, 'datasync up');
    assert.match(result.stderr, /'mltoolbox remote datasync up' is now 'mltoolbox datasync up'/);
    assert.equal(readFileSync(join(target, 'x.csv'), 'utf8'), '1,2\n');
  });

  it('init with v2 flags runs v3 init and names each ignored flag', async () => {
    const dir = sandbox.path('init-proj');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), 'FROM python:3.11\n');
    const result = await runMltoolbox(['-C', dir, 'init', '--ray', '--python-version', '3.11.4', '--variant', 'gh200'], { env: sandbox.env, cwd: sandbox.root });
    assert.equal(result.code, 0, result.stderr);
    for (const flag of ['--ray', '--python-version', '--variant']) assert.ok(result.stderr.includes(`! ${flag} is ignored`), flag);
    assert.match(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8'), /version: 1/);
  });

  it('remote attach to a host with no container reaches shell (NOT_CONNECTED)', async () => {
    const result = await mlt(['remote', 'attach', 'box', '--container-name', 'c', '--json']);
    assert.equal(JSON.parse(result.stdout).command, 'shell');
    assert.equal(JSON.parse(result.stdout).error.code, 'NOT_CONNECTED');
    assert.match(result.stderr, /--container-name is ignored/);
  });

  it('remote remove HOST removes the saved remote found by its host', async () => {
    const result = await mlt(['remote', 'remove', harness.ssh.alias]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(deprecations(result.stderr), []);
    const list = JSON.parse((await mlt(['remote', 'list', '--json'])).stdout);
    assert.deepEqual(list.result.remotes, []);
  });
});
