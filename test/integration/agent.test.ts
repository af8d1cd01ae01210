import assert from 'node:assert/strict';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { joinShellCommand } from '../../src/core/shell-quote.ts';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createSandbox, ensureDebianImage, freePort, run, runMltoolbox, runOk, useHarness, waitFor, type Sandbox } from '../harness/index.ts';

/**
 * The mlt agent end to end: connect installs the self-contained executable
 * over the harness's real sshd, and it reaches the project's container on
 * the real Docker Engine. The install folder is the sandbox's (agent.install_dir),
 * never the machine's /usr/local/bin. The container is the Debian test image:
 * rsync, ssh-add and a real language server (pylsp) are in it.
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
    const debian = (await ensureDebianImage()).tag;
    sandbox = await createSandbox({ harness });
    // Its own control folder (not the shared /tmp one): the fast channel's saved file is this suite's alone.
    sandbox.env.XDG_RUNTIME_DIR = sandbox.path('run');
    await mkdir(sandbox.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
    installDir = sandbox.path('host-bin');
    mltPath = join(installDir, 'mlt');
    await writeFile(join(sandbox.projectDir, 'notes.txt'), 'from the project\n');
    await writeFile(join(sandbox.projectDir, 'helper.py'), 'def greet(name):\n    return "hello " + name\n');
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), [
      'version: 1',
      'project:',
      '  name: agent-test',
      'environment:',
      `  base_image: ${debian}`,
      '  gpus: none',
      '  env:',
      '    MLT_FROM_CONFIG: set-in-config',
      'agent:',
      `  install_dir: ${installDir}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run('pkill', ['-f', `^${mltPath} serve --foreground`]);
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

  it('mlt ps, mlt logs [-f] and mlt shell (a real terminal) through the installed executable', async () => {
    const { result: status } = JSON.parse((await mltoolbox(['status', host, '--json'])).stdout);
    const ps = await ssh(joinShellCommand([mltPath, 'ps', '--json']));
    assert.equal(ps.code, 0, ps.stderr);
    const mine = JSON.parse(ps.stdout).result.containers.find((c: { name: string }) => c.name === status.container.name);
    assert.equal(mine?.project, status.project);
    assert.equal(mine?.state, 'running');
    const table = await ssh(joinShellCommand([mltPath, 'ps']));
    assert.match(table.stdout, /^PROJECT\s+STATE\s+SINCE\s+CONTAINER$/m);
    assert.match(table.stdout, new RegExp(`^${status.project}\\s+running\\s+Up .*${status.container.name}$`, 'm'));

    // logs: what the container's main process printed (written to its stdout here).
    const byProject = (argv: string[]) => joinShellCommand([mltPath, '--project', status.project, ...argv]);
    await mltoolbox(['exec', host, '--', 'sh', '-c', 'echo first-log-line > /proc/1/fd/1']);
    const logs = await ssh(byProject(['logs', '--tail', '50']));
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /first-log-line/);
    // -tt: when ssh goes, the far end's terminal hangs up and mlt logs -f ends with it (as tail -f would).
    const follow = spawn('ssh', ['-tt', '-F', harness.ssh.sshConfigFile, '-o', 'LogLevel=ERROR', host, byProject(['logs', '-f', '--tail', '0'])], { stdio: ['pipe', 'pipe', 'pipe'] });
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await mltoolbox(['exec', host, '--', 'sh', '-c', 'echo followed-log-line > /proc/1/fd/1']);
      await waitFor('mlt logs -f to print the new line', async () => followed.includes('followed-log-line'), 30_000, 200);
      assert.doesNotMatch(followed, /first-log-line/, '--tail 0 starts at the end');
    } finally {
      follow.kill();
    }

    // shell: bash (the image has no zsh) on a terminal, in the project's folder, its exit code back.
    const shell = await run('script', ['-qec', joinShellCommand(['ssh', '-tt', '-F', harness.ssh.sshConfigFile, '-o', 'LogLevel=ERROR', host, `cd ${joinShellCommand([status.remoteDir])} && ${joinShellCommand([mltPath, 'shell'])}`]), '/dev/null'],
      { timeoutMs: 60_000, input: 'echo "shell=[$BASH_VERSION] in=$(pwd) tty=$(tty)"; exit 7\n' });
    assert.equal(shell.code, 7, shell.stderr || shell.stdout);
    assert.match(shell.stdout, /shell=\[5\.[^\]]+\] in=\/workspace tty=\/dev\/pts\/\d+/);
  });

  it('mlt lsp-proxy runs a real language server (pylsp) in the container; the editor sees only its own paths', async () => {
    const { result: status } = JSON.parse((await mltoolbox(['status', host, '--json'])).stdout);
    const server = spawn('ssh', ['-F', harness.ssh.sshConfigFile, '-o', 'LogLevel=ERROR', host, joinShellCommand([mltPath, '--project', status.project, 'lsp-proxy', '--', 'pylsp'])], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lsp = lspClient(server.stdin, server.stdout);
    try {
      const root = sandbox.projectDir;
      const init = await lsp.request('initialize', { processId: null, rootUri: `file://${root}`, workspaceFolders: [{ uri: `file://${root}`, name: 'p' }], capabilities: {} });
      assert.ok((init as { capabilities?: { definitionProvider?: unknown } }).capabilities?.definitionProvider, JSON.stringify(init));
      lsp.notify('initialized', {});
      const main = `file://${root}/main.py`;
      lsp.notify('textDocument/didOpen', { textDocument: { uri: main, languageId: 'python', version: 1, text: 'from helper import greet\ngreet("x")\n' } });
      // helper.py is only on disk, in the container's /workspace: pylsp finds it there because the root was translated in.
      const found = await lsp.request('textDocument/definition', { textDocument: { uri: main }, position: { line: 1, character: 1 } });
      const locations = (Array.isArray(found) ? found : [found]) as { uri: string }[];
      assert.ok(locations.length > 0, JSON.stringify(found));
      assert.ok(locations.every((l) => l.uri.startsWith(`file://${root}/`)), `URIs in host paths: ${JSON.stringify(found)}`);
      assert.ok(locations.some((l) => l.uri === `file://${root}/helper.py`), JSON.stringify(found));
      assert.doesNotMatch(JSON.stringify(found), /\/workspace/);
      await lsp.request('shutdown', null);
      lsp.notify('exit', null);
    } finally {
      server.kill();
    }
  });

  it('both executables, linux-x64 and linux-arm64, are the ELF files their manifest hashes (as uploaded, gzip); arm64 runs under qemu where it is installed', async () => {
    const dir = new URL('../../dist/agent/', import.meta.url);
    const manifest = JSON.parse(await readFile(new URL('manifest.json', dir), 'utf8'));
    // ELF e_machine: 62 is x86-64, 183 is AArch64.
    for (const [arch, machine] of [['x64', 62], ['arm64', 183]] as const) {
      const raw = await readFile(new URL(`mlt-linux-${arch}`, dir));
      const uploaded = gunzipSync(await readFile(new URL(`mlt-linux-${arch}.gz`, dir)));
      assert.deepEqual([...raw.subarray(0, 5)], [0x7f, 0x45, 0x4c, 0x46, 2], `${arch}: a 64-bit ELF`);
      assert.equal(raw.readUInt16LE(18), machine, `${arch}: e_machine`);
      assert.equal(createHash('sha256').update(uploaded).digest('hex'), manifest.files[arch].sha256, `${arch}: what is uploaded is what the host checks`);
      assert.ok(raw.equals(uploaded), `${arch}: the .gz holds the executable`);
      assert.ok(raw.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'), `${arch}: the agent is injected (the SEA fuse is set)`);
    }
    // Debian: apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross
    if ((await run('sh', ['-c', 'command -v qemu-aarch64 && test -d /usr/aarch64-linux-gnu/lib'])).code === 0) {
      const arm = await run('env', ['-i', 'qemu-aarch64', '-L', '/usr/aarch64-linux-gnu', fileURLToPath(new URL('mlt-linux-arm64', dir)), '--version'], { timeoutMs: 120_000 });
      assert.equal(arm.code, 0, arm.stderr);
      assert.equal(arm.stdout.trim(), `${manifest.version} (build ${manifest.build})`);
    }
  });

  it('a second connect uploads nothing', async () => {
    const result = await connect('--yes');
    assert.equal(result.agent.action, 'current');
    assert.equal(result.agent.bytes, 0);
  });

  describe('the fast channel (mlt serve): sync skips the login shell, and falls back to ssh when it does not answer', () => {
    const controlDir = () => join(sandbox.env.XDG_RUNTIME_DIR!, 'mltoolbox', 'ssh');
    const savedFile = async () => {
      const { readdir } = await import('node:fs/promises');
      const name = (await readdir(controlDir())).find((f) => f.endsWith('.fast'));
      return name && join(controlDir(), name);
    };
    const servers = async () => (await run('pgrep', ['-f', `^${mltPath} serve --foreground`])).stdout.trim().split('\n').filter(Boolean);
    const sync = async (env: NodeJS.ProcessEnv = sandbox.env) => {
      const result = await runMltoolbox(['-C', sandbox.projectDir, 'sync', host, '--json'], { env, cwd: sandbox.root, timeoutMs: 120_000 });
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout).result;
    };
    const onHost = async (remoteDir: string, name: string) => (await ssh(`cat ${joinShellCommand([`${remoteDir}/${name}`])}`)).stdout;

    it('connect starts it (one server, found again by the next connect); sync and fetch go through it; the token is in no argv', async () => {
      const first = await connect('--yes');
      assert.equal(first.fastChannel, true);
      assert.equal((await connect('--yes')).fastChannel, true);
      assert.equal((await servers()).length, 1, 'the second connect found the running server instead of starting another');
      const file = await savedFile();
      assert.ok(file, 'the channel is saved beside the control socket');
      const { statSync } = await import('node:fs');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const { token } = JSON.parse(await readFile(file, 'utf8'));
      const ps = await run('ps', ['-eo', 'args']);
      assert.ok(!ps.stdout.includes(token), 'the token is in no process argv');

      await writeFile(join(sandbox.projectDir, 'fast.txt'), 'through the fast channel\n');
      const pushed = await sync();
      assert.equal(pushed.summary.channel, 'fast');
      assert.equal(await onHost(pushed.remoteDir, 'fast.txt'), 'through the fast channel\n');
      await ssh(`printf back > ${joinShellCommand([`${pushed.remoteDir}/made-on-host.txt`])}`);
      const fetched = await runMltoolbox(['-C', sandbox.projectDir, 'fetch', host, 'made-on-host.txt', '--json'], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 120_000 });
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.equal(JSON.parse(fetched.stdout).result.summary.channel, 'fast');
      assert.equal(await readFile(join(sandbox.projectDir, 'made-on-host.txt'), 'utf8'), 'back');
      await ssh(`rm -f ${joinShellCommand([`${pushed.remoteDir}/made-on-host.txt`])}`);
      const { rm } = await import('node:fs/promises');
      await rm(join(sandbox.projectDir, 'made-on-host.txt'));
    });

    it('exec without a terminal runs through it, by the engine\'s API: stdin, stdout, stderr, the exit code and the variables as over ssh; no engine CLI starts', async () => {
      const script = 'cat; echo to-stderr >&2; echo "[$MLT_FROM_CONFIG] $(pwd)"; exit 3';
      const ran = await runMltoolbox(['-C', sandbox.projectDir, 'exec', host, '--', 'sh', '-c', script], { env: sandbox.env, cwd: sandbox.root, input: 'piped in\n', timeoutMs: 60_000 });
      assert.equal(ran.code, 3, ran.stderr);
      assert.equal(ran.stdout, 'piped in\n[set-in-config] /workspace\n');
      assert.match(ran.stderr, /^to-stderr$/m);
      const killed = await runMltoolbox(['-C', sandbox.projectDir, 'exec', host, '--', 'sh', '-c', 'kill -9 $$'], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 60_000 });
      assert.equal(killed.code, 137, 'a signal is 128+N, as docker exec reports it');
      const [server] = await servers();
      assert.ok(server, 'a server runs');
      const slow = runMltoolbox(['-C', sandbox.projectDir, 'exec', host, '--', 'sleep', '4'], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 60_000 });
      await waitFor('the exec to run in the container', async () => (await run('pgrep', ['-f', 'sleep 4'])).code === 0, 4_000, 100);
      const children = (await run('pgrep', ['-P', server])).stdout.trim();
      assert.equal(children, '', 'mlt serve started no process (no docker exec, no shell): the engine runs it');
      assert.equal((await slow).code, 0);
    });

    it('a sync with nothing to do compares both machines\' digests and does not run rsync; a change on either side is synced', async () => {
      await writeFile(join(sandbox.projectDir, 'digest.txt'), 'same size\n');
      await sync(); // runs rsync through the channel and records what it listed
      // An rsync that fails unless asked its version: a sync that ran it would fail.
      const bin = sandbox.path('failing-rsync');
      await mkdir(bin, { recursive: true });
      const realRsync = (await run('sh', ['-c', 'command -v rsync'])).stdout.trim();
      await writeFile(join(bin, 'rsync'), `#!/bin/sh
[ "$1" = --version ] && exec ${realRsync} --version
echo "rsync ran" >&2
exit 99
`, { mode: 0o755 });
      const noRsync = { ...sandbox.env, PATH: `${bin}:${sandbox.env.PATH}` };
      const skipped = await sync(noRsync);
      assert.deepEqual([skipped.summary.unchanged, skipped.summary.channel, skipped.summary.filesTransferred], [true, 'fast', 0]);

      await writeFile(join(sandbox.projectDir, 'digest.txt'), 'SAME SIZE\n');
      const local = await sync();
      assert.equal(local.summary.unchanged, undefined);
      assert.deepEqual(local.summary.changes.changed, ['digest.txt']);
      assert.equal(await onHost(local.remoteDir, 'digest.txt'), 'SAME SIZE\n');
      assert.equal((await sync(noRsync)).summary.unchanged, true);

      await ssh(`printf 'edited on the host\\n' > ${joinShellCommand([`${local.remoteDir}/digest.txt`])}; mkdir -p ${joinShellCommand([`${local.remoteDir}/stray`])}`);
      const host = await sync();
      assert.equal(host.summary.unchanged, undefined);
      assert.equal(await onHost(host.remoteDir, 'digest.txt'), 'SAME SIZE\n', 'the host copy is the project\'s again');
      assert.ok(host.summary.changes.deleted.includes('stray/'), 'a folder made on the host is gone');
      assert.equal((await sync(noRsync)).summary.unchanged, true);
    });

    it('a saved token the server does not hold: its proof fails, nothing is sent, the sync goes by ssh and forgets the channel', async () => {
      const file = (await savedFile())!;
      const saved = await readFile(file, 'utf8');
      await writeFile(file, saved.replace(/"token":"[0-9a-f]+"/, `"token":"${'0'.repeat(64)}"`), { mode: 0o600 });
      await writeFile(join(sandbox.projectDir, 'fast.txt'), 'after a refusal\n');
      const pushed = await sync();
      assert.equal(pushed.summary.channel, 'ssh');
      assert.equal(await onHost(pushed.remoteDir, 'fast.txt'), 'after a refusal\n');
      assert.equal(await savedFile(), undefined, 'a channel that could not prove the token is forgotten');
    });

    it('a process that took the port after the server stopped (another user of the host) gets a hello and nothing else: no token, no files, no command', async () => {
      assert.equal((await connect('--yes')).fastChannel, true);
      const { port, token } = JSON.parse(await readFile((await savedFile())!, 'utf8'));
      await run('pkill', ['-f', `^${mltPath} serve --foreground`]);
      await waitFor('the server to end', async () => (await servers()).length === 0, 10_000, 100);
      const { createServer } = await import('node:net');
      let received = '';
      const squatter = createServer((socket) => {
        socket.on('data', (chunk) => {
          received += chunk.toString('latin1');
          socket.write(`${'0'.repeat(32)} ${'0'.repeat(64)}\n`); // a hello without the proof
        });
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
      try {
        await writeFile(join(sandbox.projectDir, 'fast.txt'), 'not for the squatter\n');
        const pushed = await sync();
        assert.equal(pushed.summary.channel, 'ssh');
        assert.equal(await onHost(pushed.remoteDir, 'fast.txt'), 'not for the squatter\n');
        await connect('--yes'); // saves a new channel; then the squatter's port is put back for exec
        const file = (await savedFile())!;
        await writeFile(file, (await readFile(file, 'utf8')).replace(/"port":\d+/, `"port":${port}`), { mode: 0o600 });
        const ran = await runMltoolbox(['-C', sandbox.projectDir, 'exec', host, '--', 'cat'], { env: sandbox.env, cwd: sandbox.root, input: 'secret stdin\n', timeoutMs: 60_000 });
        assert.equal(ran.code, 0, ran.stderr);
        assert.equal(ran.stdout, 'secret stdin\n');
      } finally {
        squatter.close();
      }
      assert.match(received, /^(MLT2 [0-9a-f]{32}\n)+$/, `the squatter got only hellos: ${JSON.stringify(received.slice(0, 300))}`);
      assert.ok(!received.includes(token) && !received.includes('squatter') && !received.includes('secret stdin'));
    });

    it('a server that is gone: connect starts a new one; sync falls back while it is away; MLTOOLBOX_FAST_CHANNEL=0 never uses it', async () => {
      assert.equal((await connect('--yes')).fastChannel, true);
      await run('pkill', ['-f', `^${mltPath} serve --foreground`]);
      await waitFor('the server to end', async () => (await servers()).length === 0, 10_000, 100);
      await writeFile(join(sandbox.projectDir, 'fast.txt'), 'server gone\n');
      const fallback = await sync();
      assert.equal(fallback.summary.channel, 'ssh');
      assert.equal(await onHost(fallback.remoteDir, 'fast.txt'), 'server gone\n');
      assert.equal((await connect('--yes')).fastChannel, true);
      assert.equal((await sync()).summary.channel, 'fast');
      assert.equal((await sync({ ...sandbox.env, MLTOOLBOX_FAST_CHANNEL: '0' })).summary.channel, 'ssh');
      // exec with a channel that is gone: it runs over ssh, nothing of its stdin lost.
      await run('pkill', ['-f', `^${mltPath} serve --foreground`]);
      await waitFor('the server to end', async () => (await servers()).length === 0, 10_000, 100);
      const ran = await runMltoolbox(['-C', sandbox.projectDir, 'exec', host, '--', 'cat'], { env: sandbox.env, cwd: sandbox.root, input: 'all of it\n', timeoutMs: 60_000 });
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, 'all of it\n');
      assert.equal(await savedFile(), undefined);
      await run('pkill', ['-f', `^${mltPath} serve --foreground`]);
    });
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
      // connect prints the alias with the one-line VS Code hint.
      const human = await mltoolbox(['connect', host, '--no-attach', '--yes']);
      assert.equal(human.code, 0, human.stderr);
      assert.ok(human.stdout.includes(`editor   ssh ${alias}  (VS Code: Remote-SSH: Connect to Host… → ${alias}; see docs/editors.md)`), human.stdout);
      sshConfig = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config');
      const status = JSON.parse((await mltoolbox(['status', host, '--json'])).stdout).result;
      assert.equal(status.sshHost, alias);
      const entries = await readFile(join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config.editors'), 'utf8');
      assert.match(entries, /StrictHostKeyChecking yes/);
      assert.doesNotMatch(entries, /StrictHostKeyChecking no/);
    });

    it('a command runs in the container, in its workdir, with the container\'s environment and what the client sends', async () => {
      const result = await viaAlias([alias, 'pwd; cat notes.txt; exit 9']);
      assert.equal(result.code, 9, result.stderr);
      assert.equal(result.stdout, '/workspace\nfrom the project\n');
      // environment.env is the container's; SetEnv is the ssh "env" request (as VS Code sends its variables).
      const env = await viaAlias(['-o', 'SetEnv=MLT_SENT=from-client', alias, 'echo "$MLT_FROM_CONFIG/$MLT_SENT"']);
      assert.equal(env.code, 0, env.stderr);
      assert.equal(env.stdout, 'set-in-config/from-client\n');
    });

    it('sftp puts a file into the project folder and lists it; a path outside the bind mounts is refused', async () => {
      await writeFile(sandbox.path('sftp-up.txt'), 'sent by sftp\n');
      const batch = `put ${sandbox.path('sftp-up.txt')} /workspace/sftp-up.txt\nls /workspace\n`;
      const put = await run('sftp', ['-F', sshConfig, '-o', 'BatchMode=yes', '-b', '-', alias], { timeoutMs: 60_000, input: batch });
      assert.equal(put.code, 0, put.stderr);
      assert.match(put.stdout, /\/workspace\/sftp-up\.txt/);
      const inside = await mltoolbox(['exec', host, '--', 'cat', '/workspace/sftp-up.txt']);
      assert.equal(inside.stdout, 'sent by sftp\n');
      // sftp is served on the host through the bind mounts: a path elsewhere in the container is refused, never a host path.
      const outside = await run('sftp', ['-F', sshConfig, '-o', 'BatchMode=yes', '-b', '-', alias], { timeoutMs: 60_000, input: `put ${sandbox.path('sftp-up.txt')} /tmp/sftp-outside.txt\n` });
      assert.notEqual(outside.code, 0);
      assert.match(outside.stderr, /Permission denied/);
      assert.equal((await mltoolbox(['exec', host, '--', 'sh', '-c', 'test -e /tmp/sftp-outside.txt; echo $?'])).stdout.trim(), '1');
      assert.equal((await run('test', ['-e', '/tmp/sftp-outside.txt'])).code, 1, 'nothing was written on the host either');
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

    it('rsync -e ssh puts a file into the container and brings one back', async () => {
      await writeFile(sandbox.path('rsync-up.txt'), 'sent by rsync\n');
      const rsh = joinShellCommand(['ssh', '-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR']);
      const up = await run('rsync', ['-e', rsh, sandbox.path('rsync-up.txt'), `${alias}:/workspace/rsynced/`], { timeoutMs: 60_000 });
      assert.equal(up.code, 0, up.stderr);
      const inside = await mltoolbox(['exec', host, '--', 'cat', '/workspace/rsynced/rsync-up.txt']);
      assert.equal(inside.stdout, 'sent by rsync\n');
      const down = await run('rsync', ['-e', rsh, `${alias}:notes.txt`, sandbox.path('rsync-back.txt')], { timeoutMs: 60_000 });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await readFile(sandbox.path('rsync-back.txt'), 'utf8'), 'from the project\n');
    });

    it('ssh -A forwards the local agent into the container; without -A there is no socket', async () => {
      const socket = sandbox.path('agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      try {
        await waitFor('ssh-agent to listen', async () => (await run('test', ['-S', socket])).code === 0, 10_000);
        await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'forwarded-test-key', '-f', sandbox.path('fwd-key')]);
        const env = { ...process.env, SSH_AUTH_SOCK: socket };
        await runOk('ssh-add', [sandbox.path('fwd-key')], { env });
        const forwarded = await run('ssh', ['-A', '-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', alias, 'echo "sock=$SSH_AUTH_SOCK"; ssh-add -l'], { env, timeoutMs: 60_000 });
        assert.equal(forwarded.code, 0, forwarded.stderr);
        assert.match(forwarded.stdout, /^sock=\/tmp\/mlt-agent-[0-9a-f]+\/agent\.sock$/m);
        assert.match(forwarded.stdout, /ED25519\)$/m);
        assert.match(forwarded.stdout, /forwarded-test-key/);
        // Several connections in one session, one after another and at once.
        const many = await run('ssh', ['-A', '-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', alias, 'ssh-add -l & ssh-add -l & wait; ssh-add -L'], { env, timeoutMs: 60_000 });
        assert.equal(many.code, 0, many.stderr);
        assert.equal(many.stdout.match(/forwarded-test-key/g)?.length, 3, many.stdout);

        const plain = await run('ssh', ['-a', '-F', sshConfig, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', alias, 'echo "sock=[$SSH_AUTH_SOCK]"; ssh-add -l'], { env, timeoutMs: 60_000 });
        assert.match(plain.stdout, /^sock=\[\]$/m);
        assert.equal(plain.code, 2, 'ssh-add: no agent to talk to');
        // The sockets went with their sessions.
        await waitFor('the forwarded sockets to be removed', async () =>
          (await mltoolbox(['exec', host, '--', 'sh', '-c', 'ls -d /tmp/mlt-agent-* 2>/dev/null | wc -l'])).stdout.trim() === '0', 15_000, 300);
      } finally {
        agent.kill();
      }
    });

    it('ssh -L reaches an HTTP server listening on the container\'s loopback', async () => {
      const serve = await mltoolbox(['exec', host, '--', 'sh', '-c', 'mkdir -p /tmp/www && echo served-in-container > /tmp/www/index.html && (nohup python3 -m http.server --bind 127.0.0.1 --directory /tmp/www 8099 >/dev/null 2>&1 &)']);
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

  it('no mlt is left running on the host once its clients went (ssh-server, logs -f, lsp-proxy)', async () => {
    // The fast channel's server is meant to outlive its clients (it stops when idle); the others are not.
    const left = async () => (await run('pgrep', ['-af', `^${mltPath} `])).stdout.trim().split('\n').filter((l) => l && !l.includes(' serve --foreground')).join('\n');
    await waitFor('every mlt on the host to end', async () => (await left()) === '', 20_000, 250).catch(async () => {
      assert.fail(`still running:\n${await left()}`);
    });
  });

  it('an older agent is upgraded; a newer one is left with a warning', async () => {
    await mkdir(installDir, { recursive: true });
    // Replaced by rename, as the installer does: a running mlt keeps its old file.
    const replace = async (text: string) => {
      await writeFile(`${mltPath}.new`, text, { mode: 0o755 });
      await rename(`${mltPath}.new`, mltPath);
    };
    await replace('#!/bin/sh\necho "0.0.1 (build old)"\n');
    // agent.auto_install: true is the consent, without --yes and without a terminal.
    const config = join(sandbox.projectDir, 'mltoolbox.yaml');
    const plain = await readFile(config, 'utf8');
    await writeFile(config, plain.replace('agent:\n', 'agent:\n  auto_install: true\n'));
    const upgraded = await connect().finally(() => writeFile(config, plain));
    assert.equal(upgraded.agent.action, 'upgraded');
    assert.notEqual((await readFile(mltPath)).subarray(0, 4).toString('latin1'), '#!/b');

    await replace('#!/bin/sh\necho "99.0.0 (build future)"\n');
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
    // Its fast-channel server stops with it.
    assert.equal((await connect('--yes')).fastChannel, true);
    const running = (await run('pgrep', ['-f', `^${mltPath} serve --foreground`])).stdout.trim().split('\n');
    assert.equal(running.length, 1, `one server: the one a fake agent could not replace was stopped by the next start (${running.join(', ')})`);
    const removed = JSON.parse((await mltoolbox(['agent', 'remove', host, '--json'])).stdout).result;
    assert.equal(removed.removed, true);
    await waitFor('the fast channel server to stop', async () => (await run('kill', ['-0', running[0]!])).code !== 0, 10_000, 100);
    assert.equal(JSON.parse((await mltoolbox(['agent', 'status', host, '--json'])).stdout).result.installed, null);
  });
});

/** A minimal LSP client over Content-Length frames: requests by id, notifications, server requests ignored. */
function lspClient(input: NodeJS.WritableStream, output: NodeJS.ReadableStream) {
  let buffer = Buffer.alloc(0);
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  output.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffer.subarray(0, end).toString('latin1'))?.[1]);
      if (buffer.length < end + 4 + length) return;
      const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8'));
      buffer = buffer.subarray(end + 4 + length);
      const pending = message.method === undefined ? waiting.get(message.id) : undefined;
      if (pending) {
        waiting.delete(message.id);
        if (message.error) pending.reject(new Error(JSON.stringify(message.error)));
        else pending.resolve(message.result);
      }
    }
  });
  const send = (message: object) => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
    input.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
  };
  return {
    notify: (method: string, params: unknown) => send({ method, params }),
    request: (method: string, params: unknown) => {
      const id = next++;
      send({ id, method, params });
      return new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to ${method} in 60 s`)), 60_000);
        waiting.set(id, { resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
      });
    },
  };
}
