import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';
import { startLambdaEmulator, type LambdaEmulator } from '../emulators/lambda.ts';

/**
 * Idle auto-stop end to end through the built binaries: `provision` against
 * the Lambda emulator ends in a real connect to the harness sshd, installs
 * the SEA agent and starts `mlt idle watch` on the host; with the laptop's
 * SSH connections closed (MLTOOLBOX_SSH_PERSIST=1s) the agent, alone on the
 * host, warns and then terminates the instance in the emulator — or, with no
 * key on the host, only notifies.
 */
const KEY = 'secret_idle.key';
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
  const names = [`mlt-idle-t-${process.pid}`, `mlt-idle-n-${process.pid}`];
  const mlt = (args: string[], input?: string) =>
    runMltoolbox(['-C', sandbox.projectDir, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 240_000, ...(input !== undefined ? { input } : {}) });
  const json = async (args: string[]) => {
    const result = await mlt([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const statusOf = (name: string) => lambda.instances().find((i) => i.name === name)?.status;
  const log = (name: string) => readFile(join(IDLE_DIR, `${name}.log`), 'utf8').catch(() => '');

  before(async () => {
    lambda = await startLambdaEmulator({ apiKey: KEY, ip: harness.ssh.host, bootMs: 300 });
    sandbox = await createSandbox({
      harness,
      env: {
        MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'idle-test', MLTOOLBOX_LAMBDA_URL: lambda.url,
        MLTOOLBOX_PROVISION_POLL_MS: '150',
        // The laptop keeps no SSH connection open between commands: the host sees only what the test opens.
        MLTOOLBOX_SSH_PERSIST: '1s',
      },
    });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), [
      'version: 1',
      'project:',
      '  name: idle',
      'environment:',
      `  base_image: ${harness.docker.baseImage}`,
      '  gpus: optional',
      'agent:',
      `  install_dir: ${join(sandbox.root, 'agent-bin')}`,
      'provision:',
      `  ssh_public_key: ${harness.ssh.identityFile}.pub`,
      '  backends:',
      '    lambda:',
      `      ssh_user: ${harness.ssh.user}`,
      `      ssh_port: ${harness.ssh.port}`,
      '',
    ].join('\n'));
    const added = await mlt(['backend', 'add', 'lambda'], KEY);
    assert.equal(added.code, 0, added.stderr);
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
    await lambda.close();
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
    const text = await log(name);
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
});
