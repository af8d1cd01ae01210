import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';
import { startRunpodEmulator, type RunpodEmulator } from '../emulators/runpod.ts';

/**
 * Dev Container Features on an instance that IS the container (a RunPod
 * pod, from the RunPod emulator; its SSH endpoint is the harness sshd, so
 * the "pod" is a root login on this machine). There is no Docker to build
 * on: each install.sh runs in the running pod, in order, as root, recorded
 * there by content hash. The features only write under the sandbox.
 */
const POD_STATE = '/var/lib/mltoolbox';
const PROFILE_HOOK = '/etc/profile.d/mltoolbox-features.sh';

describe('features on a pod', async () => {
  const harness = await useHarness();
  const ssh = { host: harness.ssh.host, port: harness.ssh.port, user: harness.ssh.user };
  let sandbox: Sandbox;
  let runpod: RunpodEmulator;
  let out: string;
  let project = '';
  let hookExisted = false;
  let markersBefore = new Set<string>();
  const markers = async () => new Set(await readdir(join(POD_STATE, 'features', 'installed')).catch(() => [] as string[]));
  const POD = 'mlt-feat-pod';
  const mlt = (args: string[], input?: string) =>
    runMltoolbox(['-C', sandbox.projectDir, ...args], { env: sandbox.env, cwd: sandbox.root, ...(input !== undefined ? { input } : {}), timeoutMs: 240_000 });
  const json = async (args: string[]) => {
    const result = await mlt([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const feature = async (name: string, metadata: Record<string, unknown>, install: string) => {
    const dir = join(sandbox.projectDir, 'features', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'devcontainer-feature.json'), JSON.stringify({ id: name, version: '1.0.0', ...metadata }, null, 2));
    await writeFile(join(dir, 'install.sh'), `#!/bin/sh\nset -eu\n${install}\n`);
  };
  const config = (features: string[]) => writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), [
    'version: 1',
    'project:',
    '  name: featpod',
    'environment:',
    `  base_image: ${harness.docker.baseImage}`,
    '  gpus: optional',
    `  post_create_command: echo user-postcreate >> ${out}/lifecycle.log`,
    `  post_attach_command: echo user-attach >> ${out}/attach.log`,
    '  features:',
    ...features,
    'provision:',
    `  ssh_public_key: ${harness.ssh.identityFile}.pub`,
    '',
  ].join('\n'));
  const lines = async (file: string) => (await readFile(join(out, file), 'utf8').catch(() => '')).split('\n').filter(Boolean);

  before(async () => {
    hookExisted = existsSync(PROFILE_HOOK);
    markersBefore = await markers();
    runpod = await startRunpodEmulator({ apiKey: 'rp-key', ssh, bootMs: 200 });
    sandbox = await createSandbox({
      harness,
      env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'features-pod-test', MLTOOLBOX_RUNPOD_URL: runpod.url, MLTOOLBOX_PROVISION_POLL_MS: '150' },
    });
    out = join(sandbox.root, 'pod-out');
    await mkdir(out, { recursive: true });
    await writeFile(join(sandbox.projectDir, 'mltoolbox.local.yaml'), `project:\n  workdir: ${join(sandbox.root, 'pod-workspace')}\n`);
    await feature('pod-a', {
      options: { greeting: { type: 'string', proposals: ['hi', 'hello'], default: 'hello' } },
      containerEnv: { PODFEAT_OUT: out, PATH: `${out}/bin:\${PATH}` },
      postCreateCommand: `echo a-postcreate >> ${out}/lifecycle.log`,
      postAttachCommand: `echo a-attach >> ${out}/attach.log`,
    }, [
      'echo "a user=$_REMOTE_USER container=$_CONTAINER_USER home=$_REMOTE_USER_HOME chome=$_CONTAINER_USER_HOME greeting=$GREETING uid=$(id -u)" >> "$PODFEAT_OUT/installs.log"',
      'mkdir -p "$PODFEAT_OUT/bin"',
      'printf \'#!/bin/sh\\necho pod-a-tool\\n\' > "$PODFEAT_OUT/bin/pod-a-tool"',
      'chmod +x "$PODFEAT_OUT/bin/pod-a-tool"',
    ].join('\n'));
    // Installed after pod-a: sees pod-a's containerEnv, as a build's ENV before its RUN.
    await feature('pod-b', { options: { flavor: { type: 'string', enum: ['vanilla', 'mint'], default: 'vanilla' } }, installsAfter: ['./features/pod-a'] },
      'echo "b flavor=$FLAVOR out=$PODFEAT_OUT" >> "$PODFEAT_OUT/installs.log"');
    await feature('pod-c', { privileged: true, mounts: [{ type: 'volume', source: 'x', target: '/x' }] }, `echo c >> ${out}/installs.log`);
    await config(['    ./features/pod-b: {}', '    ./features/pod-a:', '      greeting: hi']);
    const added = await mlt(['backend', 'add', 'runpod', '--json'], 'rp-key\n');
    assert.equal(added.code, 0, added.stderr);
  });

  after(async () => {
    await mlt(['instances', 'terminate', '--all', '--yes', '--json']).catch(() => undefined);
    await runpod?.close();
    // What the "pod" (this machine) keeps: the project's record and the install markers made here.
    if (project) await rm(join(POD_STATE, 'projects', project), { recursive: true, force: true });
    for (const key of await markers()) if (!markersBefore.has(key)) await rm(join(POD_STATE, 'features', 'installed', key), { force: true });
    if (!hookExisted) await rm(PROFILE_HOOK, { force: true });
    // The folders too, when nothing else is in them.
    for (const dir of ['features/installed', 'features', 'projects', '']) await rmdir(join(POD_STATE, dir)).catch(() => undefined);
  });

  it('provision + connect installs the features in the running pod, in order, as root, with the spec\'s variables and options', async () => {
    const result = await json(['provision', '--backend', 'runpod', '--gpu', 'RTX 4090', '--name', POD, '--yes', '--no-attach']);
    assert.equal(result.instance.shape, 'container');
    project = result.connect.project;
    assert.equal(result.connect.featuresAction, 'installed');
    assert.equal(result.connect.image, harness.docker.baseImage, 'no image is built for a pod');
    assert.deepEqual(result.connect.features.map((f: { id: string }) => f.id), ['./features/pod-a', './features/pod-b']);
    assert.deepEqual(await lines('installs.log'), [
      'a user=root container=root home=/root chome=/root greeting=hi uid=0',
      `b flavor=vanilla out=${out}`,
    ]);
    // The features' postCreate before the user's.
    assert.deepEqual(await lines('lifecycle.log'), ['a-postcreate', 'user-postcreate']);
  });

  it('containerEnv reaches the commands and shells mltoolbox starts in the pod; postAttach runs the features\' first', async () => {
    const exec = await mlt(['exec', POD, '--', 'sh', '-c', 'echo "out=$PODFEAT_OUT"; pod-a-tool']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.deepEqual(exec.stdout.trim().split('\n').slice(-2), [`out=${out}`, 'pod-a-tool']);
    // A login shell: /etc/profile resets PATH; the features' PATH still applies.
    const shell = await mlt(['shell', POD], 'pod-a-tool; echo "shell-out=$PODFEAT_OUT"; exit 0\n');
    assert.equal(shell.code, 0, shell.stderr);
    assert.match(shell.stdout, /pod-a-tool/);
    assert.match(shell.stdout, new RegExp(`shell-out=${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.deepEqual(await lines('attach.log'), ['a-attach', 'user-attach']);
  });

  it('a second connect installs nothing', async () => {
    const result = await json(['connect', POD, '--no-attach']);
    assert.equal(result.featuresAction, 'already-installed');
    assert.equal((await lines('installs.log')).length, 2, 'no install.sh ran again');
  });

  it('changing a feature\'s option reinstalls it (and what comes after it), not what comes before', async () => {
    await config(['    ./features/pod-b:', '      flavor: mint', '    ./features/pod-a:', '      greeting: hi']);
    const result = await json(['connect', POD, '--no-attach']);
    assert.equal(result.featuresAction, 'installed');
    assert.deepEqual((await lines('installs.log')).slice(2), [`b flavor=mint out=${out}`]);
  });

  it('a feature asking for what only a new container can have is refused at its line, before anything runs', async () => {
    await config(['    ./features/pod-a:', '      greeting: hi', '    ./features/pod-c: {}']);
    const before = (await lines('installs.log')).length;
    const result = await mlt(['connect', POD, '--no-attach']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /\[FEATURE_NOT_APPLICABLE\]/);
    assert.match(result.stderr, /mltoolbox\.yaml:12:\d+: feature 'pod-c' asks for mounts, privileged, which a running pod cannot be given/);
    assert.match(result.stderr, /hint: .*provision a VM instance/);
    assert.equal((await lines('installs.log')).length, before, 'nothing was installed');
  });
});
