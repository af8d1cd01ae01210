import assert from 'node:assert/strict';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { joinShellCommand } from '../../src/core/shell-quote.ts';
import { createSandbox, run, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * The mlt agent end to end: connect installs the self-contained executable
 * over the harness's real sshd, and it reaches the project's container on
 * the real Docker Engine. The install folder is the sandbox's (agent.install_dir),
 * never the machine's /usr/local/bin.
 */
describe('mlt agent', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let installDir: string;
  let mltPath: string;
  const host = harness.ssh.alias;
  const mltoolbox = (args: string[]) => runMltoolbox(['-C', sandbox.projectDir, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 300_000 });
  const connect = async (...extra: string[]) => {
    const result = await mltoolbox(['connect', host, '--no-attach', '--json', ...extra]);
    assert.equal(result.code, 0, `connect failed:\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  /** A command on the harness host, through plain OpenSSH (as a user would type it). */
  const ssh = (command: string, input?: string) =>
    run('ssh', ['-F', harness.ssh.sshConfigFile, '-o', 'LogLevel=ERROR', host, command], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });

  before(async () => {
    sandbox = await createSandbox({ harness });
    installDir = sandbox.path('host-bin');
    mltPath = join(installDir, 'mlt');
    await writeFile(join(sandbox.projectDir, 'notes.txt'), 'from the project\n');
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), [
      'version: 1',
      'project:',
      '  name: agent-test',
      'environment:',
      `  base_image: ${harness.docker.baseImage}`,
      '  gpus: none',
      'agent:',
      `  install_dir: ${installDir}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await mltoolbox(['down', host]);
  });

  it('connect without a terminal and without --yes installs nothing and says so in one line', async () => {
    const result = await mltoolbox(['connect', host, '--no-attach', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).result.agent.action, 'skipped');
    assert.match(result.stderr, /mlt agent not installed on mlt-test-host: run 'mltoolbox agent install mlt-test-host'/);
  });

  it('connect --yes installs mlt: an ELF executable that runs with an empty environment', async () => {
    const result = await connect('--yes');
    assert.equal(result.agent.action, 'installed');
    assert.equal(result.agent.path, mltPath);
    assert.ok(result.agent.bytes > 1_000_000, `uploaded ${result.agent.bytes} bytes`);
    const manifest = JSON.parse(await readFile(new URL('../../dist/agent/manifest.json', import.meta.url), 'utf8'));
    assert.equal(result.agent.version, `${manifest.version} (build ${manifest.build})`);
    const head = Buffer.alloc(4);
    const file = await open(mltPath);
    await file.read(head, 0, 4, 0);
    await file.close();
    assert.deepEqual([...head], [0x7f, 0x45, 0x4c, 0x46], 'starts with \\x7fELF');
    const bare = await run('env', ['-i', mltPath, '--version']);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(bare.stdout.trim(), result.agent.version);
  });

  it('from the project folder on the host, mlt status --json and mlt run -- cat FILE reach the container', async () => {
    const { result: status } = JSON.parse((await mltoolbox(['status', host, '--json'])).stdout);
    const remoteDir: string = status.remoteDir;
    const inProject = (argv: string[]) => `cd ${joinShellCommand([remoteDir])} && ${joinShellCommand([mltPath, ...argv])}`;
    const st = await ssh(inProject(['status', '--json']));
    assert.equal(st.code, 0, st.stderr);
    const envelope = JSON.parse(st.stdout);
    assert.equal(envelope.ok, true);
    assert.equal(envelope.result.chosenBy, 'cwd');
    assert.equal(envelope.result.container.name, status.container.name);
    assert.equal(envelope.result.container.state, 'running');
    assert.equal(envelope.result.container.workdir, '/workspace');
    const cat = await ssh(inProject(['run', '--', 'cat', 'notes.txt']));
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'from the project\n');
    // argv stays argv: no shell inside splits or expands it; stdin streams; the exit code comes back.
    const argv = await ssh(inProject(['run', '--', 'sh', '-c', 'cat; printf "[%s]" "$@"; exit 3', 'sh', 'a b', '$(id)', "it's"]), 'piped in\n');
    assert.equal(argv.code, 3);
    assert.equal(argv.stdout, "piped in\n[a b][$(id)][it's]");
    // Elsewhere on the host, --project picks it.
    const ps = await ssh(`cd / && ${joinShellCommand([mltPath, '--project', status.project, 'run', '--', 'pwd'])}`);
    assert.equal(ps.stdout.trim(), '/workspace');
  });

  it('a second connect uploads nothing', async () => {
    const result = await connect('--yes');
    assert.equal(result.agent.action, 'current');
    assert.equal(result.agent.bytes, 0);
  });

  it('an older agent is upgraded; a newer one is left with a warning', async () => {
    await mkdir(installDir, { recursive: true });
    await writeFile(mltPath, '#!/bin/sh\necho "0.0.1 (build old)"\n');
    await chmod(mltPath, 0o755);
    const upgraded = await connect('--yes');
    assert.equal(upgraded.agent.action, 'upgraded');
    assert.notEqual((await readFile(mltPath)).subarray(0, 4).toString('latin1'), '#!/b');

    await writeFile(mltPath, '#!/bin/sh\necho "99.0.0 (build future)"\n');
    const result = await mltoolbox(['connect', host, '--no-attach', '--json', '--yes']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).result.agent.action, 'newer-on-host');
    assert.match(result.stderr, /newer than this mltoolbox/);
    assert.equal(await readFile(mltPath, 'utf8'), '#!/bin/sh\necho "99.0.0 (build future)"\n');
  });

  it('agent status, install and remove', async () => {
    const install = await mltoolbox(['agent', 'install', host, '--json']);
    assert.equal(install.code, 0, install.stderr);
    assert.equal(JSON.parse(install.stdout).result.action, 'upgraded');
    const status = JSON.parse((await mltoolbox(['agent', 'status', host, '--json'])).stdout).result;
    assert.equal(status.action, 'current');
    assert.equal(status.path, mltPath);
    const removed = JSON.parse((await mltoolbox(['agent', 'remove', host, '--json'])).stdout).result;
    assert.equal(removed.removed, true);
    assert.equal(JSON.parse((await mltoolbox(['agent', 'status', host, '--json'])).stdout).result.installed, null);
  });
});
