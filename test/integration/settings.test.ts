import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, useHarness, waitFor, type Sandbox } from '../harness/index.ts';

const BIN = fileURLToPath(new URL('../../bin/mltoolbox.js', import.meta.url));

/**
 * Every setting the schema accepts does what docs/configuration.md says,
 * through the built binary against the harness's sshd, rsync and Docker —
 * or is rejected with its position and a hint. Plus the command-line
 * behaviour a user hits first (help anywhere, fetch to an absolute path,
 * status, one "Connecting to" line).
 */
describe('--help anywhere prints help', () => {
  for (const args of [
    ['remote', 'datasync', '--help'],
    ['remote', 'datasync', 'up', '-h'],
    ['--help', 'remote', 'fetch'],
    ['connect', '--no-such-option', '--help'],
    ['fetch', '--help', 'gpu-box'],
    ['sync', 'gpu-box', '-p', '--help'],
    ['init', '--ray', '--help'],
  ]) {
    it(`mltoolbox ${args.join(' ')}`, async () => {
      const sandbox = await createSandbox();
      const result = await runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Usage: mltoolbox /);
    });
  }
});

describe('settings through connect', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let project: string;
  let remoteDir: string;
  let projectRoot: string;
  const mlt = (args: string[], input?: string) => runMltoolbox(['-C', project, ...args], { env: sandbox.env, cwd: sandbox.root, ...(input !== undefined ? { input } : {}), timeoutMs: 180_000 });
  const ok = async (args: string[], input?: string) => {
    const result = await mlt(args, input);
    assert.equal(result.code, 0, `${args.join(' ')} failed:\n${result.stderr}\n${result.stdout}`);
    return result;
  };
  /** Every hook appends `NAME TARGET PROJECT-FOLDER-NAME CWD` to one log on this machine: order and context in one read. */
  const hookLog = () => join(sandbox.root, 'hooks.log');
  const logged = async () => (await readFile(hookLog(), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

  before(async () => {
    sandbox = await createSandbox({ harness });
    // Outside the mlt-sandbox-* folders: a concurrent test run's harness, stopping,
    // removes containers of sandbox projects it thinks are finished. after() cleans up.
    projectRoot = await mkdtemp(join(tmpdir(), 'mlt-settings-'));
    project = join(projectRoot, 'settings project');
    await mkdir(join(project, '.devcontainer'), { recursive: true });
    await writeFile(join(project, 'train.py'), 'print(1)\n');
    // The image comes from a devcontainer.json that mltoolbox.yaml names; its variables too.
    await writeFile(join(project, '.devcontainer', 'gpu.json'), JSON.stringify({
      image: harness.docker.baseImage,
      containerEnv: { FROM_DEVCONTAINER: 'yes', OVERRIDDEN: 'devcontainer' },
      postAttachCommand: 'echo "attached $FROM_DEVCONTAINER" >> /tmp/attach.log',
    }, null, 2));
    const record = (name: string) => `echo "${name} $MLTOOLBOX_TARGET $(basename "$MLTOOLBOX_PROJECT_DIR") $PWD" >> '${hookLog()}'`;
    await writeFile(join(project, 'mltoolbox.yaml'), [
      'version: 1',
      'environment:',
      '  devcontainer: .devcontainer/gpu.json',
      '  env:',
      '    OVERRIDDEN: mltoolbox.yaml',
      `  initialize_command: ${JSON.stringify(record('initialize'))}`,
      'hooks:',
      `  pre_sync: ${JSON.stringify(record('pre_sync'))}`,
      `  post_sync: ${JSON.stringify(record('post_sync'))}`,
      `  post_connect: ${JSON.stringify(record('post_connect'))}`,
      `  pre_disconnect: ${JSON.stringify(record('pre_disconnect'))}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await mlt(['down', host]);
    await rm(projectRoot, { recursive: true, force: true });
  });

  it('environment.devcontainer: PATH runs that file\'s image and settings; mltoolbox.yaml still wins', async () => {
    const shown = await ok(['config', 'show', 'environment', '--origin']);
    assert.match(shown.stdout, new RegExp(`environment\\.base_image = ${harness.docker.baseImage.replace(/[.:/]/g, '\\$&')} +# \\.devcontainer/gpu\\.json:2:`));
    const result = JSON.parse((await ok(['connect', host, '--no-attach', '--json'])).stdout).result;
    assert.equal(result.image, harness.docker.baseImage);
    remoteDir = result.remoteDir;
    const env = await ok(['exec', host, '--', 'sh', '-c', 'echo "$FROM_DEVCONTAINER $OVERRIDDEN"']);
    assert.equal(env.stdout, 'yes mltoolbox.yaml\n');
  });

  it('initialize_command runs here before anything else; hooks run around sync and after connect', async () => {
    const at = (name: string) => `${name} ${host} settings project ${project}`;
    assert.deepEqual(await logged(), [at('initialize'), at('pre_sync'), at('post_sync'), at('post_connect')]);
    await ok(['sync', host]);
    await ok(['sync', host, '--dry-run']);
    assert.deepEqual((await logged()).slice(4), [at('pre_sync'), at('post_sync')], 'a dry run runs no hook');
  });

  it('an attached connect connects once, runs post_attach_command, then pre_disconnect when the shell ends', async () => {
    const before = (await logged()).length;
    const result = await ok(['connect', host, '--skip-sync'], 'echo "in the shell"; exit 0\n');
    assert.equal(result.stderr.match(/… Connecting to /g)?.length, 1, result.stderr);
    assert.match(result.stdout, /in the shell/);
    assert.deepEqual((await logged()).slice(before).map((line) => line.split(' ')[0]), ['initialize', 'post_connect', 'pre_disconnect']);
    await ok(['shell', host], 'exit 0\n');
    const log = await ok(['exec', host, '--', 'cat', '/tmp/attach.log']);
    assert.equal(log.stdout, 'attached yes\nattached yes\n');
  });

  it('a failing hook stops the command with LOCAL_COMMAND_FAILED and its output', async () => {
    const yaml = await readFile(join(project, 'mltoolbox.yaml'), 'utf8');
    await writeFile(join(project, 'mltoolbox.local.yaml'), 'hooks:\n  pre_sync: "echo lint says no >&2; exit 4"\n');
    try {
      const result = await mlt(['sync', host, '--json']);
      assert.equal(result.code, 1);
      const error = JSON.parse(result.stdout).error;
      assert.equal(error.code, 'LOCAL_COMMAND_FAILED');
      assert.match(error.message, /hooks\.pre_sync failed on this machine with exit code 4/);
      assert.match(error.hint, /lint says no/);
    } finally {
      await writeFile(join(project, 'mltoolbox.yaml'), yaml);
      await writeFile(join(project, 'mltoolbox.local.yaml'), '');
    }
  });

  it('status says the state once', async () => {
    const status = await ok(['status', host]);
    assert.match(status.stdout, /^container +mlt-\S+ running, started /m);
    assert.doesNotMatch(status.stdout, /running \(running\)/);
  });

  it('fetch HOST PATH /absolute writes to that absolute path, not inside the project', async () => {
    await ok(['exec', host, '--', 'sh', '-c', 'mkdir -p outputs && echo result > outputs/metrics.txt']);
    const destination = join(sandbox.root, 'results');
    await ok(['fetch', host, 'outputs', destination]);
    assert.equal(await readFile(join(destination, 'outputs', 'metrics.txt'), 'utf8'), 'result\n');
    assert.equal(existsSync(join(project, sandbox.root.slice(1))), false);
  });

  it('sync.watch.enabled: sync keeps syncing on save until Ctrl-C; --once pushes once', async () => {
    await writeFile(join(project, 'mltoolbox.local.yaml'), 'sync:\n  watch:\n    enabled: true\n    debounce_ms: 50\n');
    try {
      const once = await ok(['sync', host, '--once', '--json']);
      assert.equal(JSON.parse(once.stdout).result.watched, false);
      const child = spawn(process.execPath, [BIN, '-C', project, 'sync', host], { env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        await waitFor('the watcher to start', async () => stderr.includes('Watching'), 60_000);
        await writeFile(join(project, 'train.py'), 'print("saved")\n');
        const onHost = async () => (await run('ssh', ['-F', harness.ssh.sshConfigFile, host, `cat '${remoteDir}/train.py'`], { timeoutMs: 10_000 })).stdout;
        await waitFor('the save to reach the host', async () => (await onHost()) === 'print("saved")\n', 60_000, 300);
      } finally {
        child.kill('SIGINT');
      }
      // Ctrl-C: the watcher stops; the CLI's exit code for an interrupt is 130.
      assert.ok([0, 130].includes((await closed)!), stderr);
      assert.match(stderr, /synced 1 file\(s\)/);
    } finally {
      await writeFile(join(project, 'mltoolbox.local.yaml'), '');
    }
  });
});

describe('settings the schema takes as written, or rejects with a position', () => {
  const validate = async (yaml: string) => {
    const sandbox = await createSandbox();
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), yaml);
    await writeFile(join(sandbox.projectDir, 'Dockerfile'), 'FROM scratch\n');
    const result = await runMltoolbox(['config', 'show', 'environment', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
    return { ...result, json: JSON.parse(result.stdout) };
  };

  it('environment.dockerfile: Dockerfile is {path: Dockerfile}', async () => {
    const result = await validate('environment:\n  dockerfile: Dockerfile\n');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.json.result.config.dockerfile, { path: 'Dockerfile' });
  });

  // sync.strategy: rclone syncs for real: test/integration/sync-rclone.test.ts.
  it('an unknown sync.strategy is refused at its position, naming the two there are', async () => {
    const result = await validate('sync:\n  strategy: scp\n');
    assert.equal(result.code, 3);
    const [problem] = result.json.error.data.problems;
    assert.equal(problem.line, 2);
    assert.equal(problem.column, 13);
    assert.match(problem.message, /"rsync", "rclone"/);
  });

  it('environment.devcontainer: that file\'s features apply (a local folder relative to it, defaults, a wrong option at its line there)', async () => {
    const sandbox = await createSandbox();
    const dir = join(sandbox.projectDir, '.devcontainer');
    await mkdir(join(dir, 'tools'), { recursive: true });
    await writeFile(join(dir, 'tools', 'devcontainer-feature.json'), JSON.stringify({ id: 'tools', version: '0.3.0', options: { flavor: { type: 'string', enum: ['lite', 'full'], default: 'lite' }, debug: { type: 'boolean', default: false } } }));
    await writeFile(join(dir, 'tools', 'install.sh'), '#!/bin/sh\ntrue\n');
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), 'environment:\n  devcontainer: .devcontainer/gpu.json\n');
    const gpu = (options: string) => writeFile(join(dir, 'gpu.json'), `{\n  "image": "debian:bookworm",\n  "features": {\n    "./tools": ${options}\n  }\n}\n`);
    const show = () => runMltoolbox(['config', 'show', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
    await gpu('{ "debug": true }');
    const shown = await show();
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout).result.features, [{ id: './.devcontainer/tools', version: '0.3.0', options: { flavor: 'lite', debug: true }, resolved: true }]);
    await gpu('{ "flavor": "huge" }');
    const bad = await show();
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /\.devcontainer\/gpu\.json:4:28: option 'flavor' of feature 'tools' must be one of "lite", "full", not "huge"/);
  });

  it('environment.devcontainer naming no file is an error at its position', async () => {
    const result = await validate('environment:\n  devcontainer: .devcontainer/nope.json\n');
    assert.equal(result.json.error.code, 'DEVCONTAINER_NOT_FOUND');
    assert.equal(result.json.error.data.problems[0].line, 2);
    assert.equal(result.json.error.data.problems[0].column, 17);
  });
});
