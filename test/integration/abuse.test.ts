import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSandbox, run, runMltoolbox, useHarness, waitFor, type RunResult, type Sandbox } from '../harness/index.ts';
import { startSshd, type RunningSshd } from '../harness/sshd.ts';

/**
 * Abuse suite through the built binary: hostile input, faults (a killed ssh
 * master, a frozen sshd), races (concurrent commands, Ctrl-C at random
 * points). Every run ends in a result or a user error — never exit 70 —
 * and leaves no stray process, file or disagreement between state and engine.
 */
const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));
const INTERNAL = 70;
const tally = { cases: 0, crashes: 0, hangs: 0, leakedProcesses: 0, leakedFiles: 0, lostEntries: 0, injections: 0 };
after(() => console.log(`abuse tally: ${JSON.stringify(tally)}`));

/**
 * A short private XDG_RUNTIME_DIR for a sandbox: the ssh control sockets go
 * there whatever TMPDIR's length (a long one sends them to a shared folder),
 * so this run's ssh processes are the ones whose command line names it.
 */
const runtimeDirs: string[] = [];
after(() => Promise.all(runtimeDirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function privateRuntimeDir(sandbox: Sandbox): Promise<string> {
  const dir = await mkdtemp('/tmp/mlt-abuse-');
  runtimeDirs.push(dir);
  sandbox.env.XDG_RUNTIME_DIR = dir;
  return dir;
}

function counted(result: RunResult): RunResult {
  tally.cases++;
  if (result.code === INTERNAL) tally.crashes++;
  assert.notEqual(result.code, INTERNAL, `internal error (exit 70):\n${result.stderr}`);
  return result;
}

/** ssh processes whose command line names this sandbox (its control sockets live there). */
async function sshProcesses(marker: string): Promise<{ pid: number; args: string; master: boolean }[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2]!.includes(marker) && /^ssh[: ]/.test(m[2]!))
    .map((m) => ({ pid: Number(m[1]), args: m[2]!, master: / -N |\[mux\]/.test(m[2]!) }));
}

async function killMasters(marker: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
  const masters = (await sshProcesses(marker)).filter((p) => p.master);
  for (const p of masters) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // already gone
    }
  }
  return masters.length;
}

/** Starts the binary without waiting; `stderrText()` is what it printed so far. */
function startMltoolbox(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stderrText: () => stderr };
}

describe('abuse: hostile input through the binary', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await createSandbox({ harness });
  });

  it('remote add -i with a newline and quotes is refused; the ssh_config never gains a directive', async () => {
    const generated = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config');
    const hostile = ['/tmp/x"\n  ProxyCommand touch /tmp/mlt-pwned "', '/tmp/x"', '/k\rProxyCommand x'];
    for (const path of hostile) {
      const r = counted(await runMltoolbox(['remote', 'add', 'hx', 'a@relhost', '-i', path, '--json'], { env: sandbox.env }));
      assert.equal(JSON.parse(r.stdout).error.code, 'REMOTE_TARGET_INVALID');
    }
    // One target rule (services/ssh/target.ts): connect refuses user@domain@host, so remote add does too.
    const refused = counted(await runMltoolbox(['remote', 'add', 'ok', 'a@b@relhost', '--json'], { env: sandbox.env }));
    assert.equal(JSON.parse(refused.stdout).error.code, 'REMOTE_TARGET_INVALID');
    counted(await runMltoolbox(['remote', 'add', 'ok', 'a@relhost', '-i', '/tmp/key with space'], { env: sandbox.env }));
    const text = await readFile(generated, 'utf8');
    assert.doesNotMatch(text, /ProxyCommand/i);
    const g = await run('ssh', ['-G', '-F', generated, 'ok']);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /^user a$/m);
    assert.match(g.stdout, /^identityfile \/tmp\/key with space$/m);
    if (/proxycommand/.test(g.stdout) || existsSync('/tmp/mlt-pwned')) tally.injections++;
  });

  it('20 concurrent remote add: every Host entry is in the ssh_config', async () => {
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      runMltoolbox(['remote', 'add', `box${i}`, `u@h${i}.example`], { env: sandbox.env, timeoutMs: 60_000 })));
    for (const r of runs) assert.equal(counted(r).code, 0, r.stderr);
    const text = await readFile(join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config'), 'utf8');
    const hosts = text.split('\n').filter((l) => /^Host box\d+$/.test(l));
    tally.lostEntries += 20 - hosts.length;
    assert.equal(hosts.length, 20, text);
    assert.deepEqual(readdirSync(join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox')).filter((n) => /\.(lock|tmp)$/.test(n)), [], 'no lock or temp file left');
  });

  it('an env name with = is an error at its position, not A=B=v', async () => {
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), `environment:\n  base_image: ${harness.docker.baseImage}\n  env:\n    "A=B": v\n`);
    const r = counted(await runMltoolbox(['config', 'validate'], { env: sandbox.env, cwd: sandbox.projectDir }));
    assert.equal(r.code, 3);
    assert.match(r.stderr, /mltoolbox\.yaml:4:5: environment\.env: 'A=B' is not a variable name/);
  });

  it('binary garbage as mltoolbox.yaml: a short positioned error, no raw bytes on the terminal', async () => {
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 7919 + 13) % 256)));
    const r = counted(await runMltoolbox(['config', 'validate'], { env: sandbox.env, cwd: sandbox.projectDir }));
    assert.equal(r.code, 3);
    assert.ok(r.stderr.length < 1000, `printed ${r.stderr.length} bytes`);
    assert.doesNotMatch(r.stderr, /[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/);
  });
});

describe('abuse: faults and races against the harness host', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let project: string;
  let marker: string;
  const mlt = (args: string[], timeoutMs = 120_000) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs });
  const docker = (args: string[]) => run('docker', args, { env: sandbox.env });

  before(async () => {
    sandbox = await createSandbox({ harness });
    marker = await privateRuntimeDir(sandbox);
    project = join(sandbox.root, 'proj');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'mltoolbox.yaml'), `project:\n  name: abuse\nenvironment:\n  base_image: ${harness.docker.baseImage}\n`);
    await writeFile(join(project, '\u001b[31mred.txt'), 'x');
  });

  after(async () => {
    await mlt(['down', host]);
    await killMasters(marker, 'SIGTERM');
  });

  it('20 concurrent cold commands share one ssh master and leave no socket files', async () => {
    assert.equal((await sshProcesses(marker)).length, 0, 'cold: no master yet');
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => mlt(i % 5 === 0 ? ['status', host, '--json'] : ['sync', host, '--json'], 300_000)));
    for (const r of runs) assert.equal(counted(r).code, 0, r.stderr);
    const left = await sshProcesses(marker);
    tally.leakedProcesses += Math.max(0, left.length - 1);
    assert.equal(left.length, 1, `one master expected:\n${left.map((p) => p.args).join('\n')}`);
    const sockets = readdirSync(join(sandbox.env.XDG_STATE_HOME!, 'mltoolbox', 'sockets')).filter((n) => n.startsWith('d-'));
    tally.leakedFiles += sockets.length;
    assert.deepEqual(sockets, []);
  });

  it('10 concurrent connect of one project (4 after a config change): all succeed, one container, state agrees', async () => {
    const engineContainers = async (project: string) =>
      (await docker(['ps', '-a', '--filter', `label=mltoolbox.project=${project}`, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    await mlt(['down', host]);
    // The files are on the host once; the runs then race for the container alone (--skip-sync keeps the test short).
    assert.equal((await mlt(['sync', host])).code, 0);
    for (const round of ['fresh', 'changed']) {
      // The second round changes the config: every run wants the container recreated.
      if (round === 'changed') await writeFile(join(project, 'mltoolbox.yaml'), `project:\n  name: abuse\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  env:\n    ROUND: changed\n`);
      const runs = await Promise.all(Array.from({ length: round === 'fresh' ? 10 : 4 }, () => mlt(['connect', host, '--no-attach', '--skip-sync', '--json'], 300_000)));
      for (const r of runs) {
        counted(r);
        assert.doesNotMatch(r.stdout + r.stderr, /docker rm/, 'never a hint to remove what another run uses');
        assert.equal(r.code, 0, `${round}: ${r.stdout}\n${r.stderr}`);
      }
      const names = new Set(runs.map((r) => JSON.parse(r.stdout).result.container.name as string));
      assert.equal(names.size, 1, `${round}: ${[...names].join(', ')}`);
      const status = JSON.parse(counted(await mlt(['status', host, '--json'])).stdout).result;
      assert.deepEqual(await engineContainers(status.project), [...names], `${round}: the engine holds exactly the container every run reported`);
      assert.equal(status.container?.name, [...names][0]);
    }
    const env = await mlt(['exec', host, '--', 'sh', '-c', 'echo "$ROUND"']);
    assert.equal(env.stdout, 'changed\n', 'the last config is the one running');
    // connect and exec clean up their Docker socket forwards too (status and sync: the cold-commands test).
    const sockets = readdirSync(join(sandbox.env.XDG_STATE_HOME!, 'mltoolbox', 'sockets')).filter((n) => n.startsWith('d-'));
    tally.leakedFiles += sockets.length;
    assert.deepEqual(sockets, []);
    await writeFile(join(project, 'mltoolbox.yaml'), `project:\n  name: abuse\nenvironment:\n  base_image: ${harness.docker.baseImage}\n`);
  });

  it('sync --dry-run prints hostile file names escaped, one line each', async () => {
    await writeFile(join(project, 'new.txt\n- train.py'), 'x');
    const r = counted(await mlt(['sync', host, '--dry-run']));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.split('\n').includes('- train.py'), 'a name forged a deletion line');
    assert.match(r.stdout, /^\+ new\.txt\\n- train\.py$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /\u001b/);
  });

  it('connect with stderr into a reader that leaves at once still does its work (EPIPE)', async () => {
    const piped = await run('bash', ['-c', `"${process.execPath}" "${BIN}" -C "${project}" connect ${host} --no-attach 2>&1 | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { env: sandbox.env, timeoutMs: 120_000 });
    tally.cases++;
    assert.equal(piped.stdout.trim(), '0', piped.stderr);
    const status = JSON.parse((await mlt(['status', host, '--json'])).stdout).result;
    assert.equal(status.container?.state, 'running');
  });

  it('master killed during exec: SSH_CONNECTION_LOST (not a silent 255), and the command is stopped in the container', async () => {
    const started = startMltoolbox(['-C', project, 'exec', host, '--json', '--', 'sh', '-c', 'sleep 97'], sandbox.env, sandbox.root);
    await waitFor('the command to run', async () => (await mlt(['exec', host, '--', 'ps'])).stdout.includes('sleep 97'), 90_000, 300);
    assert.ok(await killMasters(marker) >= 1);
    const r = counted(await started.done);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /SSH_CONNECTION_LOST/);
    assert.equal(JSON.parse(r.stdout).error.code, 'SSH_CONNECTION_LOST');
    const ps = await mlt(['exec', host, '--', 'ps']);
    if (ps.stdout.includes('sleep 97')) tally.leakedProcesses++;
    assert.doesNotMatch(ps.stdout, /sleep 97/, 'the cut-off command still runs');
  });

  it('exec piped into a reader that leaves at once (exec … | head -1): the command does not keep running in the container', async () => {
    assert.equal((await mlt(['connect', host, '--no-attach'])).code, 0);
    const piped = await run('bash', ['-c', `"${process.execPath}" "${BIN}" -C "${project}" exec ${host} -- yes mlt-epipe | head -n 1`], { env: sandbox.env, timeoutMs: 60_000 });
    tally.cases++;
    assert.equal(piped.stdout, 'mlt-epipe\n', piped.stderr);
    // The kill is sent before exec returns; give the process a moment to go.
    let ps = '';
    for (let i = 0; i < 10; i++) {
      ps = (await mlt(['exec', host, '--', 'ps'])).stdout;
      if (!ps.includes('mlt-epipe')) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    if (ps.includes('mlt-epipe')) tally.leakedProcesses++;
    assert.doesNotMatch(ps, /yes mlt-epipe/, 'the cut-off command still runs (and burns a CPU) in the container');
  });

  it('master killed during an image build: a user error with a hint, never exit 70', async () => {
    const buildProject = join(sandbox.root, 'build-proj');
    await mkdir(buildProject, { recursive: true });
    await writeFile(join(buildProject, 'Dockerfile'), `FROM ${harness.docker.baseImage}\nRUN sleep 4\n`);
    await writeFile(join(buildProject, 'mltoolbox.yaml'), 'project:\n  name: abuse-build\nenvironment:\n  dockerfile:\n    path: Dockerfile\n');
    const started = startMltoolbox(['-C', buildProject, 'connect', host, '--no-attach', '--json'], sandbox.env, sandbox.root);
    await waitFor('the build to start', async () => started.stderrText().includes('Building image'), 60_000, 100);
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(await killMasters(marker) >= 1);
    const r = counted(await started.done);
    assert.equal(r.code, 4, r.stderr);
    assert.ok(['SSH_CONNECTION_LOST', 'DOCKER_UNREACHABLE'].includes(JSON.parse(r.stdout).error.code), r.stdout);
    await runMltoolbox(['-C', buildProject, 'down', host], { env: sandbox.env, cwd: sandbox.root });
  });

  it('Ctrl-C at random points of connect: state and engine labels always agree', async () => {
    await writeFile(join(project, 'mltoolbox.yaml'), `project:\n  name: abuse\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  post_create_command: sleep 1\n  env:\n    RUN: "1"\n`);
    for (let i = 0; i < 4; i++) {
      await mlt(['down', host]);
      // Each round a different config: the container is recreated, not reused.
      await writeFile(join(project, 'mltoolbox.yaml'), `project:\n  name: abuse\nenvironment:\n  base_image: ${harness.docker.baseImage}\n  post_create_command: sleep 1\n  env:\n    RUN: "${i}"\n`);
      const started = startMltoolbox(['-C', project, 'connect', host, '--no-attach'], sandbox.env, sandbox.root);
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 3500));
      started.child.kill('SIGINT');
      const r = counted(await started.done);
      // 130 from our handler; a SIGINT before the handler is installed ends node by the signal itself.
      assert.ok(r.code === 130 || r.code === 0 || r.signal === 'SIGINT', `exit ${r.code} ${r.signal}: ${r.stderr}`);
      const status = JSON.parse(counted(await mlt(['status', host, '--json'])).stdout).result;
      const engine = (await docker(['ps', '-a', '--filter', `label=mltoolbox.project=${status.project}`, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
      const named = status.container?.name ?? null;
      assert.deepEqual(engine.length ? engine : [null], [named], `round ${i}: engine has ${JSON.stringify(engine)}, status says ${named}`);
    }
  });

  it('down after docker rm -f says the container was already gone, never "removed"', async () => {
    const connected = JSON.parse((await mlt(['connect', host, '--no-attach', '--json'])).stdout).result;
    await docker(['rm', '-f', connected.container.name]);
    const r = counted(await mlt(['down', host]));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^removed/m);
    assert.match(r.stdout, /already removed/);
  });
});

describe('abuse: a frozen host (sshd stopped with SIGSTOP, its own sshd)', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let sshd: RunningSshd;
  let project: string;
  let marker: string;
  const frozen: number[] = [];

  before(async () => {
    sandbox = await createSandbox({ harness });
    marker = await privateRuntimeDir(sandbox);
    sshd = await startSshd(sandbox.path('frozen-sshd'));
    sandbox.env.MLTOOLBOX_SSH_CONFIG = sshd.endpoint.sshConfigFile;
    sandbox.env.MLTOOLBOX_KNOWN_HOSTS = sshd.endpoint.knownHostsFile;
    project = join(sandbox.root, 'proj');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'mltoolbox.yaml'), `project:\n  name: abuse-frozen\nenvironment:\n  base_image: ${harness.docker.baseImage}\n`);
  });

  after(async () => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    await runMltoolbox(['-C', project, 'down', sshd.endpoint.alias], { env: sandbox.env, cwd: sandbox.root });
    await killMasters(marker, 'SIGTERM');
    await sshd.stop();
  });

  it('is detected within seconds and named as the host not answering', async () => {
    const alias = sshd.endpoint.alias;
    const up = await runMltoolbox(['-C', project, 'connect', alias, '--no-attach'], { env: sandbox.env, cwd: sandbox.root });
    assert.equal(up.code, 0, up.stderr);
    // The listener and every session process it forked (the master's server side).
    const tree = async (pid: number): Promise<number[]> => {
      const children = (await run('pgrep', ['-P', String(pid)])).stdout.split('\n').filter(Boolean).map(Number);
      return [pid, ...(await Promise.all(children.map(tree))).flat()];
    };
    frozen.push(...(await tree(sshd.process.pid!)));
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    const started = Date.now();
    const r = counted(await runMltoolbox(['-C', project, 'status', alias, '--json'], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 90_000 }));
    const seconds = (Date.now() - started) / 1000;
    if (r.signal) tally.hangs++;
    assert.equal(r.code, 4, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'SSH_CONNECTION_LOST');
    assert.doesNotMatch(r.stderr, /docker group|usermod/, 'not a docker permission problem');
    assert.ok(seconds < 40, `took ${seconds} s`);
  });
});
