import assert from 'node:assert/strict';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { joinShellCommand } from '../../src/core/shell-quote.ts';
import { spawn } from 'node:child_process';
import { createSandbox, freePort, run, runMltoolbox, runOk, useHarness, type Sandbox } from '../harness/index.ts';

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
    assert.equal(JSON.parse(result.stdout).result.agent.action, 'skipped', result.stderr);
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

  describe('the editor alias reaches the container with plain OpenSSH', () => {
    let alias: string;
    let sshConfig: string;
    const viaAlias = (args: string[], options: { input?: string; timeoutMs?: number } = {}) =>
      run('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', ...args], { timeoutMs: options.timeoutMs ?? 60_000, ...(options.input !== undefined ? { input: options.input } : {}) });

    before(async () => {
      const result = await connect('--yes');
      alias = result.sshHost;
      assert.match(alias, /^agent-test-[0-9a-f]{8}\.mlt-test-host\.mlt$/);
      sshConfig = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config');
      const status = JSON.parse((await mltoolbox(['status', host, '--json'])).stdout).result;
      assert.equal(status.sshHost, alias);
      const entries = await readFile(join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config.editors'), 'utf8');
      assert.match(entries, /StrictHostKeyChecking yes/);
      assert.doesNotMatch(entries, /StrictHostKeyChecking no/);
    });

    it('a command runs in the container, in its workdir', async () => {
      const result = await viaAlias([alias, 'pwd; cat notes.txt; exit 9']);
      assert.equal(result.code, 9, result.stderr);
      assert.equal(result.stdout, '/workspace\nfrom the project\n');
    });

    it('scp puts a file into the container and brings one back', async () => {
      await writeFile(sandbox.path('upload.txt'), 'sent by scp\n');
      const up = await run('scp', ['-F', sshConfig, '-o', 'BatchMode=yes', sandbox.path('upload.txt'), `${alias}:uploaded.txt`], { timeoutMs: 60_000 });
      assert.equal(up.code, 0, up.stderr);
      const inside = await mltoolbox(['exec', host, '--', 'cat', '/workspace/uploaded.txt']);
      assert.equal(inside.stdout, 'sent by scp\n');
      const down = await run('scp', ['-F', sshConfig, '-o', 'BatchMode=yes', `${alias}:/workspace/notes.txt`, sandbox.path('back.txt')], { timeoutMs: 60_000 });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await readFile(sandbox.path('back.txt'), 'utf8'), 'from the project\n');
    });

    it('ssh -L reaches an HTTP server listening on the container\'s loopback', async () => {
      const serve = await mltoolbox(['exec', host, '--', 'sh', '-c', 'mkdir -p /tmp/www && echo served-in-container > /tmp/www/index.html && httpd -p 127.0.0.1:8099 -h /tmp/www']);
      assert.equal(serve.code, 0, serve.stderr);
      const port = await freePort();
      const tunnel = spawn('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-N', '-L', `127.0.0.1:${port}:127.0.0.1:8099`, alias], { stdio: 'ignore' });
      try {
        let body = '';
        for (let attempt = 0; attempt < 40 && body === ''; attempt++) {
          body = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text(), () => '');
          if (body === '') await new Promise((r) => setTimeout(r, 250));
        }
        assert.equal(body, 'served-in-container\n');
      } finally {
        tunnel.kill();
      }
    });

    it('an interactive PTY session gets a terminal and its exit code back', async () => {
      const result = await run('script', ['-qec', joinShellCommand(['ssh', '-tt', '-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', alias, 'tty; exit 5']), '/dev/null'], { timeoutMs: 60_000 });
      assert.equal(result.code, 5, result.stderr || result.stdout);
      assert.match(result.stdout, /\/dev\/pts\/\d+/);
    });

    it('a changed container host key is refused', async () => {
      const knownHosts = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'known_hosts');
      const pinned = await readFile(knownHosts, 'utf8');
      await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', sandbox.path('other-key')]);
      const other = (await readFile(sandbox.path('other-key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
      await writeFile(knownHosts, pinned.replace(new RegExp(`^${alias.replace(/\./g, '\\.')} .*$`, 'm'), `${alias} ${other}`));
      try {
        const result = await viaAlias([alias, 'echo should-not-run']);
        assert.equal(result.code, 255);
        assert.doesNotMatch(result.stdout, /should-not-run/);
        assert.match(result.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
      } finally {
        await writeFile(knownHosts, pinned);
      }
    });
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
