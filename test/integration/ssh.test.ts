import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../src/core/errors.ts';
import { createSshManager } from '../../src/services/ssh/manager.ts';
import { parseTarget } from '../../src/services/ssh/target.ts';
import type { SshService } from '../../src/services/ssh/types.ts';
import { createSandbox, freePort, run, runOk, useHarness, type Sandbox } from '../harness/index.ts';

/** The SSH service against the harness's real sshd on loopback. */
describe('ssh service (real sshd)', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let ssh: SshService;
  const target = parseTarget(harness.ssh.alias);
  const services: { ssh: SshService; target: ReturnType<typeof parseTarget> }[] = [];

  const make = (env: NodeJS.ProcessEnv = {}) => {
    const service = createSshManager({
      env: { ...sandbox.env, MLTOOLBOX_SSH_PERSIST: '60s', ...env },
      stateDir: sandbox.path('state'),
      homeDir: sandbox.home,
      interactive: false,
    });
    return service;
  };

  before(async () => {
    sandbox = await createSandbox({ harness });
    ssh = make();
    services.push({ ssh, target });
  });
  after(async () => {
    for (const s of services) await s.ssh.closeMaster(s.target).catch(() => {});
  });

  it('one master connection carries every exec', async () => {
    await ssh.connect(target);
    assert.equal(await ssh.check(target), true);
    const controlPath = ssh.sshOptions(target).find((a) => a.startsWith('ControlPath='))!.slice('ControlPath='.length);
    const pidOf = async () => /pid=(\d+)/.exec((await run('ssh', ['-S', controlPath, '-O', 'check', 'x'])).stderr)?.[1];
    const masterPid = await pidOf();
    assert.ok(masterPid, 'ssh -O check names the master');
    // SSH_CONNECTION holds the client's source port: sessions on one TCP connection share it.
    const results = await Promise.all(Array.from({ length: 6 }, () => ssh.exec(target, ['sh', '-c', 'echo "$SSH_CONNECTION"'])));
    const ports = new Set(results.map((r) => r.stdout.trim().split(' ')[1]));
    assert.equal(ports.size, 1, `all execs on one connection: ${[...ports].join(', ')}`);
    assert.equal(await pidOf(), masterPid);
  });

  it('quotes hostile paths: spaces, quotes, $(), ; and globs are data, never code', async () => {
    const canary = sandbox.path('pwned');
    const dir = join(sandbox.root, `dir with 'quotes' "and" $(touch ${canary}); rm -rf x; *`);
    await ssh.exec(target, ['mkdir', '-p', dir]);
    await ssh.exec(target, ['touch', join(dir, "file `id` $HOME ;|&")]);
    const listing = await ssh.exec(target, ['ls', '-1', dir]);
    assert.equal(listing.stdout, "file `id` $HOME ;|&\n");
    assert.ok(existsSync(dir));
    assert.ok(!existsSync(canary), 'nothing was executed');
    const echoed = await ssh.exec(target, ['printf', '%s\n', "it's", '$(id)', '', 'a\nb']);
    assert.equal(echoed.stdout, "it's\n$(id)\n\na\nb\n");
  });

  it('execScript: one round trip, args and input, no quoting trouble', async () => {
    const result = await ssh.execScript(target, 'printf "%s|%s\\n" "$1" "$2"\nwc -c | tr -d " "', { args: ["a 'b'", '$(x)'], input: 'ünïcödé\n' });
    assert.equal(result.stdout, "a 'b'|$(x)\n12\n");
  });

  it('a failing remote command is REMOTE_COMMAND_FAILED (exit 6) with its exit code', async () => {
    await assert.rejects(ssh.exec(target, ['sh', '-c', 'echo nope >&2; exit 42']), (error: UserError) => {
      assert.equal(error.code, 'REMOTE_COMMAND_FAILED');
      assert.equal(error.exitCode, 6);
      assert.equal(error.data?.exitCode, 42);
      assert.ok(error.details.includes('nope'));
      return true;
    });
    const tolerated = await ssh.exec(target, ['sh', '-c', 'exit 255'], { check: false });
    assert.equal(tolerated.code, 255);
  });

  it('forwards a local port to an HTTP server on the host\'s loopback, and cancels it', async () => {
    const server: Server = createServer((_req, res) => res.end('hello through ssh'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    const remotePort = (server.address() as { port: number }).port;
    const forward = await ssh.forward(target, { remote: { host: '127.0.0.1', port: remotePort } });
    assert.ok(forward.localPort && forward.localPort !== remotePort);
    const response = await fetch(`http://127.0.0.1:${forward.localPort}/`);
    assert.equal(await response.text(), 'hello through ssh');
    await forward.close();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(forward.localPort!, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, 'the local port is closed after cancel');
  });

  it('forwards a local unix socket to a remote one', async () => {
    const server: Server = createServer((_req, res) => res.end('over a socket'));
    const remoteSocket = sandbox.path('remote.sock');
    await new Promise<void>((r) => server.listen(remoteSocket, r));
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    const localSocket = sandbox.path('local.sock');
    const forward = await ssh.forward(target, { local: { socket: localSocket }, remote: { socket: remoteSocket } });
    const body = await new Promise<string>((resolve, reject) => {
      const socket = connect(localSocket);
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text.split('\r\n\r\n')[1] ?? ''));
      socket.on('error', reject);
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    assert.equal(body, 'over a socket');
    await forward.close();
  });

  it('a forward keeps the master up between uses under a 1 s ControlPersist, and lets it go once closed', async () => {
    const server: Server = createServer((_req, res) => res.end('still here'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    // Its own control folder: not the 60 s master the other tests share.
    const runtime = sandbox.path('brief-runtime');
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
    const brief = make({ MLTOOLBOX_SSH_PERSIST: '1s', XDG_RUNTIME_DIR: runtime });
    const briefTarget = parseTarget(harness.ssh.alias);
    services.push({ ssh: brief, target: briefTarget });
    const forward = await brief.forward(briefTarget, { remote: { host: '127.0.0.1', port: (server.address() as { port: number }).port } });
    // HTTP/1.0 on a fresh socket: no keep-alive channel that would hold the master by itself.
    const get = () => new Promise<string>((resolve, reject) => {
      const socket = connect(forward.localPort!, '127.0.0.1');
      let text = '';
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text.split('\r\n\r\n')[1] ?? ''));
      socket.on('error', reject);
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    assert.equal(await get(), 'still here');
    // Longer than ControlPersist with no channel open: without a session holding it, the master ends here.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await brief.check(briefTarget), true, 'the master is still up');
    assert.equal(await get(), 'still here');
    await forward.close();
    const deadline = Date.now() + 15_000;
    while ((await brief.check(briefTarget)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await brief.check(briefTarget), false, 'the master ended after ControlPersist once the forward was closed');
  });

  it('rsync rides on the master through rsyncShell', async () => {
    const source = sandbox.path('rsync-src');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'a file.txt'), 'synced');
    const dest = sandbox.path('rsync dest');
    const result = await run('rsync', ['-a', '-e', ssh.rsyncShell(target), `${source}/`, ssh.rsyncRemote(target, `${dest}/`)], { env: sandbox.env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(join(dest, 'a file.txt'), 'utf8'), 'synced');
  });

  it('closeMaster ends the shared connection', async () => {
    const other = make();
    await other.connect(target);
    assert.equal(await other.check(target), true);
    await other.closeMaster(target);
    assert.equal(await other.check(target), false);
  });

  it('a refused port fails at once with SSH_UNREACHABLE and the command to try', async () => {
    const port = await freePort();
    const bad = parseTarget(`root@127.0.0.1:${port}`);
    const started = Date.now();
    await assert.rejects(ssh.exec(bad, ['true']), (error: UserError) => {
      assert.equal(error.code, 'SSH_UNREACHABLE');
      assert.equal(error.exitCode, 4);
      assert.match(error.message, new RegExp(`connection refused \\(port ${port}\\)`));
      assert.match(error.hint, new RegExp(`ssh .*-p ${port} root@127\\.0\\.0\\.1 true`));
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });

  it('waitForHost gives up on a dead port within its bound', async () => {
    const bad = parseTarget(`root@127.0.0.1:${await freePort()}`);
    const started = Date.now();
    await assert.rejects(ssh.waitForHost(bad, { timeoutMs: 1500 }), (e: UserError) => e.code === 'SSH_UNREACHABLE');
    assert.ok(Date.now() - started < 5000);
  });

  it('accepts a new host key on first contact (accept-new) and records it', async () => {
    const knownHosts = sandbox.path('fresh_known_hosts');
    writeFileSync(knownHosts, '');
    const fresh = make({ MLTOOLBOX_SSH_CONFIG: '/dev/null', MLTOOLBOX_KNOWN_HOSTS: knownHosts });
    const direct = parseTarget(`root@127.0.0.1:${harness.ssh.port}`, { identityFile: harness.ssh.identityFile });
    services.push({ ssh: fresh, target: direct });
    const result = await fresh.exec(direct, ['echo', 'first contact']);
    assert.equal(result.stdout, 'first contact\n');
    assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${harness.ssh.port} ssh-ed25519 `));
  });

  it('a changed host key is SSH_HOST_KEY_CHANGED with the ssh-keygen -R line', async () => {
    const knownHosts = sandbox.path('wrong_known_hosts');
    const otherKey = sandbox.path('other_host_key');
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    writeFileSync(knownHosts, `[127.0.0.1]:${harness.ssh.port} ${readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    const wrong = make({ MLTOOLBOX_SSH_CONFIG: '/dev/null', MLTOOLBOX_KNOWN_HOSTS: knownHosts });
    const direct = parseTarget(`root@127.0.0.1:${harness.ssh.port}`, { identityFile: harness.ssh.identityFile });
    await assert.rejects(wrong.exec(direct, ['true']), (error: UserError) => {
      assert.equal(error.code, 'SSH_HOST_KEY_CHANGED');
      assert.match(error.hint, /ssh-keygen -f ".*wrong_known_hosts" -R "\[127\.0\.0\.1\]:\d+"/);
      return true;
    });
  });

  it('an unknown host key under StrictHostKeyChecking yes is SSH_HOST_KEY_UNKNOWN', async () => {
    const config = sandbox.path('strict_ssh_config');
    const empty = sandbox.path('empty_known_hosts');
    writeFileSync(empty, '');
    writeFileSync(config, `Host strict-host\n  HostName 127.0.0.1\n  Port ${harness.ssh.port}\n  User root\n  IdentityFile ${harness.ssh.identityFile}\n  IdentitiesOnly yes\n  StrictHostKeyChecking yes\n`);
    const strict = make({ MLTOOLBOX_SSH_CONFIG: config, MLTOOLBOX_KNOWN_HOSTS: empty });
    await assert.rejects(strict.exec(parseTarget('strict-host'), ['true']), (error: UserError) => {
      assert.equal(error.code, 'SSH_HOST_KEY_UNKNOWN');
      assert.match(error.hint, /ssh -F .*strict_ssh_config .*strict-host true/);
      return true;
    });
    assert.equal(readFileSync(empty, 'utf8'), '', 'the key was not accepted behind the user\'s back');
  });

  it('a key the host does not accept is SSH_AUTH_FAILED', async () => {
    const stranger = sandbox.path('stranger_key');
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const config = sandbox.path('stranger_config');
    writeFileSync(config, `Host h\n  HostName 127.0.0.1\n  Port ${harness.ssh.port}\n  User root\n  IdentitiesOnly yes\n  UserKnownHostsFile ${harness.ssh.knownHostsFile}\n`);
    const denied = make({ MLTOOLBOX_SSH_CONFIG: config });
    await assert.rejects(denied.exec(parseTarget('h', { identityFile: stranger }), ['true']), (error: UserError) => {
      assert.equal(error.code, 'SSH_AUTH_FAILED');
      assert.match(error.hint, /ssh-add -l/);
      return true;
    });
  });
});
