import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import type { ProcessResult, ProcessRunner, RunProcessOptions } from '../../../../src/infrastructure/process.ts';
import { runProcess } from '../../../../src/infrastructure/process.ts';
import { createSshManager, wrapScript, type SshManagerOptions } from '../../../../src/services/ssh/manager.ts';
import { parseTarget } from '../../../../src/services/ssh/target.ts';

const root = mkdtempSync(join(tmpdir(), 'mlt-ssh-unit-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Call {
  args: readonly string[];
  options: RunProcessOptions | undefined;
}

const ok = (stdout = '', stderr = ''): ProcessResult => ({ code: 0, signal: null, stdout, stderr, timedOut: false });
const fail = (code: number, stderr: string): ProcessResult => ({ code, signal: null, stdout: '', stderr, timedOut: false });

const G_OUTPUT = 'user root\nhostname 10.0.0.5\nport 2222\nstricthostkeychecking ask\nconnecttimeout none\n';

/** A fake `ssh`: -G answers, -O check says no master, everything else runs `respond`. */
function fakeSsh(respond: (args: readonly string[]) => ProcessResult = () => ok()) {
  const calls: Call[] = [];
  const runner: ProcessRunner = async (command, args, options) => {
    assert.equal(command, 'ssh');
    calls.push({ args, options });
    if (args[0] === '-G') return ok(G_OUTPUT);
    return respond(args);
  };
  return { calls, runner };
}

let counter = 0;
function manager(runner: ProcessRunner, overrides: Partial<SshManagerOptions> = {}) {
  const stateDir = join(root, `s${counter++}`);
  return createSshManager({ env: {}, stateDir, homeDir: root, interactive: false, runner, sleep: async () => {}, ...overrides });
}

const remoteCommand = (call: Call) => call.args[call.args.indexOf('--') + 2];
const option = (args: readonly string[], name: string) => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

describe('SshManager argv', () => {
  it('uses a private control folder and a short socket name', () => {
    const ssh = manager(fakeSsh().runner);
    const args = ssh.sshOptions(parseTarget('alice@gpu-box:2222'));
    const controlPath = option(args, 'ControlPath')!;
    assert.ok(controlPath.length < 100, controlPath);
    assert.match(controlPath, /\/ssh\/[0-9a-f]{16}$/);
    assert.equal(statSync(join(controlPath, '..')).mode & 0o777, 0o700);
    assert.equal(option(args, 'ControlMaster'), 'auto');
    assert.equal(option(args, 'ControlPersist'), '10m');
    assert.equal(option(args, 'BatchMode'), 'yes');
    assert.equal(option(args, 'StrictHostKeyChecking'), 'accept-new');
    assert.equal(option(args, 'ConnectTimeout'), '10');
    assert.deepEqual(args.slice(0, 4), ['-l', 'alice', '-p', '2222']);
    assert.ok(!args.some((a) => /StrictHostKeyChecking=no/i.test(a)));
  });

  it('gives each connection identity its own socket, the same one every time', () => {
    const ssh = manager(fakeSsh().runner);
    const path = (t: string) => option(ssh.sshOptions(parseTarget(t)), 'ControlPath');
    assert.equal(path('gpu-box'), path('gpu-box'));
    assert.notEqual(path('gpu-box'), path('alice@gpu-box'));
    assert.notEqual(path('gpu-box'), path('gpu-box:2222'));
  });

  it('prefers XDG_RUNTIME_DIR, and skips folders too long for a unix socket', () => {
    const runtime = join(root, 'run');
    const ssh = manager(fakeSsh().runner, { env: { XDG_RUNTIME_DIR: runtime } });
    assert.ok(option(ssh.sshOptions(parseTarget('h')), 'ControlPath')!.startsWith(join(runtime, 'mltoolbox', 'ssh')));
    const long = manager(fakeSsh().runner, { stateDir: join(root, 'x'.repeat(120)) });
    const path = option(long.sshOptions(parseTarget('h')), 'ControlPath')!;
    assert.ok(path.length < 100 && !path.includes('xxxxxxxx'), path);
  });

  it('passes the knobs: MLTOOLBOX_SSH_CONFIG, MLTOOLBOX_KNOWN_HOSTS, MLTOOLBOX_SSH_PERSIST, interactive', () => {
    const config = join(root, 'ssh_config');
    writeFileSync(config, '');
    const ssh = manager(fakeSsh().runner, {
      env: { MLTOOLBOX_SSH_CONFIG: config, MLTOOLBOX_KNOWN_HOSTS: '/kh', MLTOOLBOX_SSH_PERSIST: '60s' },
      interactive: true,
    });
    const args = ssh.sshOptions(parseTarget('h'));
    assert.deepEqual(args.slice(0, 2), ['-F', config]);
    assert.equal(option(args, 'UserKnownHostsFile'), '/kh');
    assert.equal(option(args, 'ControlPersist'), '60s');
    assert.equal(option(args, 'BatchMode'), undefined);
  });

  it('passes remote.identity_file and remote.connect_timeout from the target', () => {
    const ssh = manager(fakeSsh().runner);
    const args = ssh.sshOptions(parseTarget('h', { identityFile: '/keys/my key', connectTimeout: 3 }));
    assert.deepEqual(args.slice(0, 4), ['-i', '/keys/my key', '-o', 'IdentitiesOnly=yes']);
    assert.equal(option(args, 'ConnectTimeout'), '3');
  });

  it('refuses a missing MLTOOLBOX_SSH_CONFIG or remote.ssh_config with SSH_CONFIG_NOT_FOUND', () => {
    const ssh = manager(fakeSsh().runner, { env: { MLTOOLBOX_SSH_CONFIG: join(root, 'nope') } });
    assert.throws(() => ssh.sshOptions(parseTarget('h')), (e: UserError) => e.code === 'SSH_CONFIG_NOT_FOUND' && /MLTOOLBOX_SSH_CONFIG/.test(e.hint));
    const fromConfig = manager(fakeSsh().runner);
    assert.throws(() => fromConfig.sshOptions(parseTarget('h', { sshConfigFile: join(root, 'nope') })), (e: UserError) => e.code === 'SSH_CONFIG_NOT_FOUND' && /remote\.ssh_config/.test(e.message));
  });

  it('refuses a malformed MLTOOLBOX_SSH_PERSIST', () => {
    const ssh = manager(fakeSsh().runner, { env: { MLTOOLBOX_SSH_PERSIST: 'forever' } });
    assert.throws(() => ssh.sshOptions(parseTarget('h')), (e: UserError) => e.code === 'USAGE' && /60s/.test(e.hint));
  });

  it('keeps StrictHostKeyChecking=yes when the user\'s ssh config asks for it', async () => {
    const { runner } = fakeSsh();
    const strict: ProcessRunner = async (command, args, options) =>
      args[0] === '-G' ? ok('hostname h\nport 22\nuser u\nstricthostkeychecking true\nconnecttimeout 30\n') : runner(command, args, options);
    const ssh = manager(strict);
    await ssh.resolve(parseTarget('h'));
    const args = ssh.sshOptions(parseTarget('h'));
    assert.equal(option(args, 'StrictHostKeyChecking'), undefined);
    assert.equal(option(args, 'ConnectTimeout'), undefined, 'the ssh config ConnectTimeout is kept');
  });

  it('sshArgs ends with -- and the destination', () => {
    const ssh = manager(fakeSsh().runner);
    assert.deepEqual(ssh.sshArgs(parseTarget('gpu-box')).slice(-2), ['--', 'gpu-box']);
  });

  it('rsyncShell quotes for rsync\'s own splitting; rsyncRemote brackets IPv6', () => {
    const ssh = manager(fakeSsh().runner);
    const shell = ssh.rsyncShell(parseTarget('h', { identityFile: "/k/it's key" }));
    assert.match(shell, /^ssh -i '\/k\/it''s key' -o IdentitiesOnly=yes /);
    assert.equal(ssh.rsyncRemote(parseTarget('[::1]:22'), '/w/p'), '[::1]:/w/p');
    assert.equal(ssh.rsyncRemote(parseTarget('gpu'), '/w'), 'gpu:/w');
  });
});

describe('SshManager connection', () => {
  it('opens the master once (-N -f) and shares it between concurrent commands', async () => {
    const { calls, runner } = fakeSsh();
    const ssh = manager(runner);
    const target = parseTarget('h');
    await Promise.all([ssh.exec(target, ['true']), ssh.exec(target, ['true']), ssh.connect(target)]);
    const masters = calls.filter((c) => c.args.includes('-N'));
    assert.equal(masters.length, 1);
    assert.ok(masters[0]!.args.includes('-f'));
    assert.equal(calls.filter((c) => c.args[0] === '-G').length, 1);
  });

  it('exec quotes every word: nothing is parsed by the remote shell', async () => {
    const { calls, runner } = fakeSsh();
    const ssh = manager(runner);
    await ssh.exec(parseTarget('h'), ['ls', '-la', "/data/it's here", '$(rm -rf ~)', 'a;b', '*']);
    const last = calls.at(-1)!;
    assert.ok(last.args.includes('-T'));
    assert.equal(remoteCommand(last), `ls -la '/data/it'\\''s here' '$(rm -rf ~)' 'a;b' '*'`);
  });

  it('execScript sends the script on stdin to sh -s with quoted args', async () => {
    const { calls, runner } = fakeSsh();
    const ssh = manager(runner);
    await ssh.execScript(parseTarget('h'), 'echo "$1"', { args: ['a b'] });
    const last = calls.at(-1)!;
    assert.equal(remoteCommand(last), `sh -s -- 'a b'`);
    assert.equal(last.options?.input, wrapScript('echo "$1"', undefined));
  });

  it('a non-zero remote exit is REMOTE_COMMAND_FAILED (exit 6) with the code in data; check:false returns it', async () => {
    const ssh = manager(fakeSsh((args) => (args.includes('-N') ? ok() : fail(3, 'pyenv: not found\nreal error\n'))).runner);
    await assert.rejects(ssh.exec(parseTarget('h'), ['make']), (e: UserError) => {
      assert.equal(e.code, 'REMOTE_COMMAND_FAILED');
      assert.equal(e.exitCode, 6);
      assert.deepEqual(e.data, { host: 'h', exitCode: 3 });
      assert.deepEqual(e.details, ['pyenv: not found', 'real error']);
      return true;
    });
    const result = await ssh.exec(parseTarget('h'), ['make'], { check: false });
    assert.equal(result.code, 3);
  });

  it('a remote `exit 255` without ssh diagnostics is the command\'s failure, not ssh\'s (the master still answers)', async () => {
    const ssh = manager(fakeSsh((args) => (args.includes('-N') || args.includes('-O') ? ok() : fail(255, 'boom\n'))).runner);
    const controlPath = option(ssh.sshOptions(parseTarget('h')), 'ControlPath')!;
    writeFileSync(controlPath, ''); // the master's socket
    try {
      await assert.rejects(ssh.exec(parseTarget('h'), ['x']), (e: UserError) => e.code === 'REMOTE_COMMAND_FAILED' && e.data?.exitCode === 255);
    } finally {
      rmSync(controlPath, { force: true });
    }
  });

  it('exit 255 with the shared connection gone is SSH_CONNECTION_LOST, never a silent 255', async () => {
    const ssh = manager(fakeSsh((args) => (args.includes('-N') ? ok() : fail(255, 'mux_client_read_packet: read header failed: Broken pipe\n'))).runner);
    await assert.rejects(ssh.exec(parseTarget('h'), ['x'], { check: false }), (e: UserError) => e.code === 'SSH_CONNECTION_LOST' && /lost while running 'x'/.test(e.message));
  });

  it('classifies a failed connection', async () => {
    const ssh = manager(fakeSsh(() => fail(255, 'ssh: connect to host 10.0.0.5 port 2222: Connection refused\n')).runner);
    await assert.rejects(ssh.exec(parseTarget('h'), ['true']), (e: UserError) => {
      assert.equal(e.code, 'SSH_UNREACHABLE');
      assert.match(e.message, /port 2222/);
      assert.match(e.hint, /ssh h true/);
      return true;
    });
  });

  it('an unrecognised ssh failure is still SSH_UNREACHABLE with ssh -v in the hint', async () => {
    const ssh = manager(fakeSsh(() => fail(255, 'something odd\n')).runner);
    await assert.rejects(ssh.connect(parseTarget('h')), (e: UserError) => e.code === 'SSH_UNREACHABLE' && /ssh -v/.test(e.hint) && /something odd/.test(e.message));
  });

  it('a connection that hangs is SSH_TIMEOUT', async () => {
    const ssh = manager(fakeSsh(() => ({ ...fail(255, ''), code: null, signal: 'SIGTERM', timedOut: true })).runner);
    await assert.rejects(ssh.connect(parseTarget('h')), (e: UserError) => e.code === 'SSH_TIMEOUT');
  });

  it('ssh not installed -> SSH_NOT_INSTALLED', async () => {
    const ssh = manager(async () => {
      throw Object.assign(new Error('spawn ssh ENOENT'), { code: 'ENOENT' });
    });
    await assert.rejects(ssh.exec(parseTarget('h'), ['true']), (e: UserError) => e.code === 'SSH_NOT_INSTALLED' && /openssh-client/.test(e.hint));
  });

  it('a failed connect is not remembered: the next call tries again', async () => {
    let attempts = 0;
    const ssh = manager(fakeSsh((args) => (args.includes('-N') && ++attempts === 1 ? fail(255, 'Connection refused') : ok())).runner);
    await assert.rejects(ssh.connect(parseTarget('h')));
    await ssh.connect(parseTarget('h'));
    assert.equal(attempts, 2);
  });

  it('waitForHost retries an unreachable host with growing delays, then gives up at the deadline', async () => {
    const delays: number[] = [];
    let now = 0;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const ssh = manager(fakeSsh(() => fail(255, 'ssh: connect to host h port 22: Connection refused')).runner, {
        sleep: async (ms) => {
          delays.push(ms);
          now += ms;
        },
      });
      await assert.rejects(ssh.waitForHost(parseTarget('h'), { timeoutMs: 10_000 }), (e: UserError) => e.code === 'SSH_UNREACHABLE');
    } finally {
      Date.now = realNow;
    }
    assert.deepEqual(delays.slice(0, 5), [250, 500, 1000, 2000, 4000]);
    assert.equal(delays.reduce((a, b) => a + b, 0), 10_000);
  });

  it('waitForHost does not retry a refused key', async () => {
    let attempts = 0;
    const ssh = manager(fakeSsh((args) => (args.includes('-N') ? (attempts++, fail(255, 'u@h: Permission denied (publickey).')) : ok())).runner);
    await assert.rejects(ssh.waitForHost(parseTarget('h'), { timeoutMs: 60_000 }), (e: UserError) => e.code === 'SSH_AUTH_FAILED');
    assert.equal(attempts, 1);
  });

  it('waitForHost returns once the host answers', async () => {
    let attempts = 0;
    const ssh = manager(fakeSsh((args) => (args.includes('-N') && ++attempts < 3 ? fail(255, 'Connection refused') : ok())).runner);
    await ssh.waitForHost(parseTarget('h'), { timeoutMs: 60_000 });
    assert.equal(attempts, 3);
  });
});

describe('SshManager forwards', () => {
  it('forwards through the master with -O forward -L and cancels with -O cancel', async () => {
    const { calls, runner } = fakeSsh();
    const ssh = manager(runner);
    const forward = await ssh.forward(parseTarget('h'), { local: { port: 18080 }, remote: { port: 8080 } });
    assert.equal(forward.spec, '127.0.0.1:18080:localhost:8080');
    assert.equal(forward.localPort, 18080);
    const request = calls.at(-1)!.args;
    assert.deepEqual(request.slice(request.indexOf('-O'), request.indexOf('-O') + 4), ['-O', 'forward', '-L', '127.0.0.1:18080:localhost:8080']);
    await forward.close();
    await forward.close();
    const cancels = calls.filter((c) => c.args.includes('cancel'));
    assert.equal(cancels.length, 1);
  });

  it('picks a free local port, and forwards unix sockets', async () => {
    const { runner } = fakeSsh();
    const ssh = manager(runner);
    const tcp = await ssh.forward(parseTarget('h'), { remote: { host: '::1', port: 80 } });
    assert.ok(tcp.localPort! > 0);
    assert.equal(tcp.spec, `127.0.0.1:${tcp.localPort}:[::1]:80`);
    const socket = await ssh.forward(parseTarget('h'), { local: { socket: '/tmp/l.sock' }, remote: { socket: '/var/run/docker.sock' } });
    assert.equal(socket.spec, '/tmp/l.sock:/var/run/docker.sock');
  });

  it('starts the master again when a short ControlPersist ended it between two steps, then forwards', async () => {
    let forwards = 0;
    const { calls, runner } = fakeSsh((args) => {
      if (!args.includes('forward')) return ok();
      forwards += 1;
      return forwards === 1 ? fail(255, 'Control socket connect(/run/x/ssh/abc): No such file or directory\n') : ok();
    });
    const ssh = manager(runner);
    const forward = await ssh.forward(parseTarget('h'), { local: { port: 18081 }, remote: { port: 8080 } });
    assert.equal(forward.localPort, 18081);
    assert.equal(forwards, 2);
    // Between the two forwards, a new master was started (-N -f).
    const masterStarts = calls.filter((c) => c.args.includes('-N') && c.args.includes('-f'));
    assert.equal(masterStarts.length, 2);
  });

  it('holds a session that reads stdin for as long as the forward is open (a forward alone does not keep the master)', async () => {
    const held: { args: readonly string[]; released: number }[] = [];
    const holder = (command: string, args: readonly string[]) => {
      assert.equal(command, 'ssh');
      const entry = { args, released: 0 };
      held.push(entry);
      return { ready: Promise.resolve(true), release: async () => void (entry.released += 1) };
    };
    const ssh = manager(fakeSsh().runner, { holder });
    const forward = await ssh.forward(parseTarget('alice@h'), { local: { port: 18082 }, remote: { port: 8080 } });
    assert.equal(held.length, 1);
    assert.deepEqual(held[0]!.args.slice(-4), ['-T', '--', 'h', 'echo up; exec cat >/dev/null']);
    assert.ok(held[0]!.args.some((a) => a.startsWith('ControlPath=')), 'the session rides the same master');
    assert.ok(held[0]!.args.includes('ControlMaster=no') && !held[0]!.args.includes('ControlMaster=auto'), 'and never becomes a master itself');
    assert.equal(held[0]!.released, 0);
    await forward.close();
    await forward.close();
    assert.equal(held[0]!.released, 1);
  });

  it('explains a refused forward', async () => {
    const ssh = manager(fakeSsh((args) => (args.includes('forward') ? fail(255, 'mux_client_forward: forwarding request failed: Port forwarding failed\n') : ok())).runner);
    await assert.rejects(ssh.forward(parseTarget('h'), { local: { port: 1 }, remote: { port: 2 } }), (e: UserError) => e.code === 'SSH_UNREACHABLE' && /forwarding request failed/.test(e.message));
  });
});

describe('wrapScript', () => {
  const sh = (script: string, input?: string, args: string[] = []) =>
    runProcess('sh', ['-s', '--', ...args], { input: wrapScript(script, input), timeoutMs: 10_000 });

  it('runs the script with its args; a command reading stdin cannot eat the script', async () => {
    const r = await sh('cat; echo "1=$1"\necho after', undefined, ['x y']);
    assert.equal(r.stdout, '1=x y\nafter\n');
  });

  it('feeds input (binary-safe) to the script', async () => {
    const r = await sh('od -An -tx1 | tr -d " \\n"; echo', 'a\u0000b\n');
    assert.equal(r.stdout.trim(), '6100620a');
  });

  it('keeps the script\'s exit status, an empty script is fine, heredocs work', async () => {
    assert.equal((await sh('exit 7')).code, 7);
    assert.equal((await sh('false')).code, 1);
    assert.equal((await sh('')).code, 0);
    const r = await sh('cat <<EOF\nhello $1\nEOF', undefined, ['you']);
    assert.equal(r.stdout, 'hello you\n');
  });
});

describe('control folder safety', () => {
  it('tightens a group/world-readable control folder to 0700', () => {
    const stateDir = join(root, 'loose');
    const ssh = manager(fakeSsh().runner, { stateDir });
    const dir = join(stateDir, 'ssh');
    // created by the first call, then loosened and created again
    ssh.sshOptions(parseTarget('h'));
    chmodSync(dir, 0o755);
    const again = manager(fakeSsh().runner, { stateDir });
    again.sshOptions(parseTarget('h'));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
});
