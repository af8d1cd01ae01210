import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type Sandbox, provisionProjectYaml } from '../harness/index.ts';
import { startLambdaEmulator, type LambdaEmulator } from '../emulators/lambda.ts';
import { startRunpodEmulator, type RunpodEmulator } from '../emulators/runpod.ts';

/**
 * Idle auto-stop end to end through the built binaries: `provision` against
 * the Lambda emulator ends in a real connect to the harness sshd, installs
 * the SEA agent and starts `mlt idle watch` on the host; with the laptop's
 * SSH connections closed (MLTOOLBOX_SSH_PERSIST=1s) the agent, alone on the
 * host, warns and then terminates the instance in the emulator — or, with no
 * key on the host, only notifies. On RunPod the pod is the container: the
 * agent goes into the pod (the harness sshd stands for the pod's) and stops
 * it through the RunPod emulator. A later connect restarts a watcher that
 * is not running (a reboot, a stop/start), and leaves a running one alone.
 */
const KEY = 'secret_idle.key';
const RUNPOD_KEY = 'rp-idle-key';
const IDLE_DIR = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'mltoolbox', 'idle');

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('idle auto-stop on the host', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let lambda: LambdaEmulator;
  let runpod: RunpodEmulator;
  const names = [`mlt-idle-t-${process.pid}`, `mlt-idle-n-${process.pid}`, `mlt-idle-p-${process.pid}`, `mlt-idle-r-${process.pid}`];
  const mlt = (args: string[], input?: string) =>
    runMltoolbox(['-C', sandbox.projectDir, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 240_000, ...(input !== undefined ? { input } : {}) });
  const json = async (args: string[]) => {
    const result = await mlt([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const statusOf = (name: string) => lambda.instances().find((i) => i.name === name)?.status;
  const log = (name: string) => readFile(join(IDLE_DIR, `${name}.log`), 'utf8').catch(() => '');

  // The instances' SSH port is a loopback relay to the harness sshd that only this file uses: the
  // host's watcher counts connections on the instance's port, and other test files running at the
  // same time keep their own connections to the harness port open (which would count as a user).
  let relay: Server;
  const relayed = new Set<Socket>();
  let relayPort = 0;

  before(async () => {
    relay = createServer((inbound) => {
      const outbound = connect(harness.ssh.port, harness.ssh.host);
      for (const socket of [inbound, outbound]) {
        relayed.add(socket);
        socket.on('close', () => relayed.delete(socket));
        socket.on('error', () => { inbound.destroy(); outbound.destroy(); });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    relayPort = (relay.address() as { port: number }).port;
    lambda = await startLambdaEmulator({ apiKey: KEY, ip: harness.ssh.host, bootMs: 300 });
    runpod = await startRunpodEmulator({ apiKey: RUNPOD_KEY, ssh: { host: harness.ssh.host, port: relayPort, user: harness.ssh.user }, bootMs: 300 });
    sandbox = await createSandbox({
      harness,
      env: {
        MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'idle-test', MLTOOLBOX_LAMBDA_URL: lambda.url, MLTOOLBOX_RUNPOD_URL: runpod.url,
        MLTOOLBOX_PROVISION_POLL_MS: '150',
        // The laptop keeps no SSH connection open between commands: the host sees only what the test opens.
        MLTOOLBOX_SSH_PERSIST: '1s',
      },
    });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'),
      provisionProjectYaml(harness, { name: 'idle', sshPort: relayPort, sections: ['agent:', `  install_dir: ${join(sandbox.root, 'agent-bin')}`] }));
    for (const [backend, key] of [['lambda', KEY], ['runpod', RUNPOD_KEY]] as const) {
      const added = await mlt(['backend', 'add', backend], key);
      assert.equal(added.code, 0, added.stderr);
    }
  });

  after(async () => {
    await mlt(['instances', 'terminate', '--all', '--yes']);
    for (const name of names) {
      const pid = Number((await readFile(join(IDLE_DIR, `${name}.pid`), 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid);
        } catch {
          // already ended
        }
      }
      await Promise.all(['json', 'key', 'pid', 'log', 'state.json'].map((ext) => rm(join(IDLE_DIR, `${name}.${ext}`), { force: true })));
    }
    await Promise.all([lambda.close(), runpod.close()]);
    for (const socket of relayed) socket.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });

  it('terminate: the agent warns, then terminates the instance in the emulator with the 0600 key; status showed the time left', async () => {
    const name = names[0]!;
    const result = await json(['provision', '--backend', 'lambda', '--gpu', 'A10', '--name', name, '--idle-timeout', '20s', '--idle-action', 'terminate', '--idle-key-on-host', '--yes', '--no-attach']);
    assert.equal(result.connect.agent.action, 'installed', 'provision --yes installs the agent');
    assert.deepEqual({ armed: result.connect.idle.armed, effective: result.connect.idle.effectiveAction, key: result.connect.idle.keyOnHost }, { armed: true, effective: 'terminate', key: true });
    const keyFile = await stat(join(IDLE_DIR, `${name}.key`));
    assert.equal(keyFile.mode & 0o777, 0o600);
    assert.equal((await readFile(join(IDLE_DIR, `${name}.key`), 'utf8')), KEY);
    const pid = Number((await until('the watcher pid', async () => (await readFile(join(IDLE_DIR, `${name}.pid`), 'utf8').catch(() => undefined)), 20_000)).trim());
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    assert.match(argv, /idle\0watch\0--config\0/);
    assert.ok(!argv.includes(KEY), 'the key is not in the watcher\'s argv');
    // On a loaded machine a CLI command can take seconds: the window may be over by the time it answers.
    const listed = await json(['instances', 'list']);
    const row = listed.instances.find((i: { name: string }) => i.name === name);
    assert.equal(row.idle.effectiveAction, 'terminate');
    if (row.idle.watcher === 'running') assert.ok(typeof row.idle.secondsLeft === 'number' && row.idle.secondsLeft <= 20, JSON.stringify(row.idle));
    else assert.equal(row.idle.lastEvent, 'terminated', JSON.stringify(row.idle));
    const human = await mlt(['instances', 'list']);
    assert.match(human.stdout, new RegExp(`${name} .* (terminate in \\d+s \\(idle \\d+s\\)|watcher ended \\(terminated\\))`));
    await until('the agent to terminate the instance', () => (['terminating', 'terminated'].includes(statusOf(name) ?? 'terminated') ? true : undefined), 90_000);
    // The agent logs the termination once the API answered: a moment after the emulator saw it.
    const text = await until('the termination in the agent\'s log', async () => {
      const t = await log(name);
      return /terminated lambda instance/.test(t) ? t : undefined;
    }, 30_000);
    assert.match(text, /warning: .* will be terminated/);
    assert.match(text, /terminated lambda instance \S+ after \d+ s idle/);
    assert.ok(!text.includes(KEY), 'the key is never logged');
    assert.equal(lambda.billable().length, 0);
    const after = await json(['instances', 'list']);
    assert.ok(!after.instances.some((i: { name: string }) => i.name === name), 'reconciled: gone from the open instances');
  });

  it('without the key (and Lambda cannot stop), the agent only notifies — once per window — and the instance keeps running', async () => {
    const name = names[1]!;
    const result = await json(['provision', '--backend', 'lambda', '--gpu', 'A10', '--name', name, '--idle-timeout', '6s', '--yes', '--no-attach']);
    assert.equal(result.connect.idle.armed, true);
    assert.equal(result.connect.idle.effectiveAction, 'notify');
    assert.equal(result.connect.idle.keyOnHost, false);
    await rm(join(IDLE_DIR, `${name}.key`), { force: true }).then(() => undefined);
    const text = await until('two notifications', async () => {
      const t = await log(name);
      return (t.match(/notify: /g)?.length ?? 0) >= 2 ? t : undefined;
    }, 60_000);
    assert.match(text, /still billing: no API key on this host/);
    assert.equal(statusOf(name), 'active', 'nothing was stopped');
    const status = await json(['status', name]);
    assert.equal(status.instance.idle.watcher, 'running');
    assert.equal(status.instance.idle.effectiveAction, 'notify');
    const ended = await json(['instances', 'terminate', name, '--yes']);
    assert.equal(ended.terminated[0].ok, true);
  });

  it('on a RunPod pod: the agent goes into the pod, warns, then STOPS the pod through the RunPod API (no longer billing)', async () => {
    const name = names[2]!;
    const result = await json(['provision', '--backend', 'runpod', '--gpu', 'RTX 4090', '--name', name, '--idle-timeout', '10s', '--idle-action', 'stop', '--idle-key-on-host', '--yes', '--no-attach']);
    assert.equal(result.instance.shape, 'container');
    assert.ok(['installed', 'current'].includes(result.connect.agent.action), JSON.stringify(result.connect.agent));
    assert.deepEqual({ armed: result.connect.idle.armed, effective: result.connect.idle.effectiveAction, key: result.connect.idle.keyOnHost }, { armed: true, effective: 'stop', key: true });
    assert.equal((await stat(join(IDLE_DIR, `${name}.key`))).mode & 0o777, 0o600);
    const pod = () => runpod.pods().find((p) => p.name === name);
    await until('the agent to stop the pod', () => (pod()?.status === 'EXITED' ? true : undefined), 90_000);
    assert.ok(!runpod.billable().includes(pod()!.id), 'a stopped pod no longer bills for its GPU');
    const text = await until('the stop in the agent\'s log', async () => {
      const t = await log(name);
      return /stopped runpod instance/.test(t) ? t : undefined;
    }, 30_000);
    const warned = text.search(/warning: .* will be stopped/);
    const stopped = text.search(/stopped runpod instance \S+ after \d+ s idle/);
    assert.ok(warned >= 0 && stopped > warned, `warning first, then the stop:\n${text}`);
    assert.ok(!text.includes(RUNPOD_KEY), 'the key is never logged');
    await json(['instances', 'terminate', name, '--yes']);
  });

  it('connect re-arms a watcher that is not running (one round trip), and leaves a running one alone', async () => {
    const name = names[3]!;
    const result = await json(['provision', '--backend', 'runpod', '--gpu', 'RTX 4090', '--name', name, '--idle-timeout', '30m', '--idle-key-on-host', '--yes', '--no-attach']);
    assert.equal(result.connect.idle.armed, true);
    const pidOf = async () => Number((await readFile(join(IDLE_DIR, `${name}.pid`), 'utf8').catch(() => '0')).trim());
    const first = await until('the watcher pid', async () => ((await pidOf()) > 0 ? pidOf() : undefined), 20_000);
    // A reboot (or a stop/start) ends the watcher.
    process.kill(first);
    await until('the watcher to end', async () => ((await readFile(`/proc/${first}/cmdline`, 'utf8').catch(() => '')).includes('idle') ? undefined : true), 20_000);
    const again = await json(['connect', name, '--yes', '--no-attach']);
    assert.equal(again.idle.armed, true, JSON.stringify(again.idle));
    assert.equal(again.idle.alreadyRunning, undefined);
    assert.equal(again.idle.keyOnHost, true, 'the key placed with consent at provision is kept');
    const second = await until('a new watcher', async () => { const pid = await pidOf(); return pid > 0 && pid !== first ? pid : undefined; }, 20_000);
    assert.match(await readFile(`/proc/${second}/cmdline`, 'utf8'), /idle\0watch\0--config\0/);
    const status = await json(['status', name]);
    assert.equal(status.instance.idle.watcher, 'running');
    const third = await json(['connect', name, '--no-attach']);
    assert.equal(third.idle.alreadyRunning, true, 'a running watcher is left alone');
    assert.equal(await pidOf(), second);
    await json(['instances', 'terminate', name, '--yes']);
  });
});
