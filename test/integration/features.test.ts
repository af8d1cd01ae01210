import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, ensureDebianImage, freePort, packFeature, run, runMltoolbox, startTestRegistry, useHarness, type Sandbox, type TestRegistry } from '../harness/index.ts';

const FIXTURES = new URL('../fixtures/features/', import.meta.url).pathname;

/** Copies a fixture feature, naming the test registry where its metadata refers to it. */
async function featureFolder(name: string, target: string, registry: string): Promise<string> {
  await cp(join(FIXTURES, name), target, { recursive: true });
  const file = join(target, 'devcontainer-feature.json');
  await writeFile(file, (await readFile(file, 'utf8')).replaceAll('__REGISTRY__', registry));
  return target;
}

/**
 * Dev Container Features end to end, through the built binary, against the
 * harness's sshd and Docker Engine, the Debian test image, and a registry of
 * our own on 127.0.0.1 (token auth from ~/.docker/config.json): OCI,
 * dependsOn, local-folder and tarball features, installed as layers on the
 * remote engine, observed inside the running container.
 */
describe('features', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let registry: TestRegistry;
  let sandbox: Sandbox;
  let debian: string;
  const mlt = (args: string[], cwd = sandbox.projectDir) => runMltoolbox(['-C', cwd, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 600_000 });
  const json = async (args: string[]) => {
    const result = await mlt([...args, '--json']);
    assert.equal(result.code, 0, `${args.join(' ')} failed:\n${result.stderr}\n${result.stdout}`);
    return JSON.parse(result.stdout).result;
  };
  const inContainer = async (script: string) => {
    const result = await mlt(['exec', host, '--', 'bash', '-c', script]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  before(async () => {
    debian = (await ensureDebianImage()).tag;
    registry = await startTestRegistry({ auth: { username: 'tester', password: 's3cret-pw' } });
    sandbox = await createSandbox({ harness });
    const staging = join(sandbox.root, 'features');
    for (const name of ['greeter', 'base-tools']) {
      await registry.pushFeature(`features/${name}`, await featureFolder(name, join(staging, name), registry.host), ['1', '1.2', 'latest']);
    }
    registry.serveFile('devcontainer-feature-tarball-feature.tgz', await packFeature(await featureFolder('tarball-feature', join(staging, 'tarball-feature'), registry.host), { gzip: true }));
    await featureFolder('local-feature', join(sandbox.projectDir, '.devcontainer', 'local-feature'), registry.host);
    // The registry login, where docker keeps it.
    await mkdir(join(sandbox.home, '.docker'), { recursive: true });
    await writeFile(join(sandbox.home, '.docker', 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('tester:s3cret-pw').toString('base64') } } }));
    const tarball = registry.fileUrl('devcontainer-feature-tarball-feature.tgz');
    await writeFile(join(sandbox.projectDir, '.devcontainer', 'devcontainer.json'), `{
  "name": "features-demo",
  "image": "${debian}",
  "features": {
    "${registry.host}/features/greeter:1": { "greeting": "hi" },
    "./local-feature": {},
    "${tarball}": {}
  },
  // The tarball first (as soon as it can), the rest by dependsOn / installsAfter.
  "overrideFeatureInstallOrder": ["${tarball}"],
  "postCreateCommand": "echo user >> /tmp/lifecycle.log",
  "postAttachCommand": "echo user-attach >> /tmp/attach.log"
}
`);
  });

  after(async () => {
    await mlt(['down', host]).catch(() => undefined);
    await registry?.close();
  });

  it('connect installs the features in the spec\'s order, with their options, on the remote engine', async () => {
    const result = await json(['connect', host, '--no-attach']);
    assert.equal(result.imageAction, 'built');
    assert.equal(result.container.action, 'created');
    assert.deepEqual(result.features.map((f: { id: string }) => f.id), [
      registry.fileUrl('devcontainer-feature-tarball-feature.tgz'),
      `${registry.host}/features/base-tools:1`,
      `${registry.host}/features/greeter:1`,
      './.devcontainer/local-feature',
    ]);
    assert.deepEqual(result.features[2].options, { greeting: 'hi', loud: false });
    assert.equal(await inContainer('cat /opt/install-order.log'), 'tarball-feature\nbase-tools\ngreeter\nlocal-feature\n');
    // Defaults for what the user left out; dependsOn's own options for the dependency.
    assert.equal(await inContainer('cat /opt/greeter.options'), 'GREETING=hi\nLOUD=false\n');
    assert.equal(await inContainer('cat /opt/base-tools.marker'), 'from-greeter');
    assert.equal(await inContainer('cat /opt/local-feature.flavor'), 'vanilla\n');
    assert.equal(await inContainer('cat /opt/greeter.users'), 'remote=root home=/root\n');
  });

  it('containerEnv, capabilities, mounts, the entrypoint and lifecycle commands reach the running container', async () => {
    const out = await inContainer('echo "$GREETER_HOME $TARBALL_FEATURE"; greet; cat /tmp/lifecycle.log; grep -c greeter-scratch /proc/mounts; cat /tmp/greeter-started');
    // Features' lifecycle commands ran before the user's, in installation order, hook by hook:
    // onCreate, updateContent, postCreate (the features', then the user's), postStart.
    // …and the feature's entrypoint ran when the container started (the container kept running after it).
    assert.equal(out, [
      '/opt/greeter yes', 'hi from greeter',
      'feature-base-tools-oncreate', 'feature-local-updatecontent', 'feature-greeter', 'user', 'feature-tarball-poststart',
      '1', 'started', '',
    ].join('\n'));
    const status = await json(['status', host]);
    const inspect = await run('docker', ['inspect', '--format', '{{json .HostConfig.CapAdd}} {{json .HostConfig.Init}} {{json .HostConfig.SecurityOpt}}', status.container.id]);
    // capAdd from greeter; init and securityOpt from the tarball feature.
    assert.match(inspect.stdout, /^\["SYS_PTRACE"\] true \["no-new-privileges:true"\]$/m);
    // customizations are kept for editors, in the image label the devcontainers CLI uses.
    const label = await run('docker', ['inspect', '--format', '{{index .Config.Labels "devcontainer.metadata"}}', status.container.image]);
    const metadata = JSON.parse(label.stdout) as { id: string; customizations?: unknown }[];
    assert.deepEqual(metadata.find((m) => m.id === `${registry.host}/features/greeter:1`)?.customizations, { vscode: { extensions: ['example.greeter'] } });
  });

  it('devcontainer-lock.json pins every fetched feature by digest', async () => {
    const lock = JSON.parse(await readFile(join(sandbox.projectDir, '.devcontainer', 'devcontainer-lock.json'), 'utf8'));
    const greeter = lock.features[`${registry.host}/features/greeter:1`];
    assert.equal(greeter.version, '1.2.0');
    assert.match(greeter.resolved, new RegExp(`^${registry.host.replace(/\./g, '\\.')}/features/greeter@sha256:[a-f0-9]{64}$`));
    assert.equal(greeter.integrity, greeter.resolved.split('@')[1]);
    assert.deepEqual(greeter.dependsOn, [`${registry.host}/features/base-tools:1`]);
    assert.ok(lock.features[`${registry.host}/features/base-tools:1`]);
    assert.match(lock.features[registry.fileUrl('devcontainer-feature-tarball-feature.tgz')].integrity, /^sha256:[a-f0-9]{64}$/);
    assert.equal(Object.keys(lock.features).some((k) => k.includes('local-feature')), false, 'local features are not locked');
  });

  it('a second connect builds nothing and fetches nothing', async () => {
    const seen = registry.requests.length;
    const result = await json(['connect', host, '--no-attach']);
    assert.equal(result.imageAction, 'reused-build');
    assert.equal(result.container.action, 'reused');
    assert.equal(registry.requests.length, seen, `no request to the registry: ${registry.requests.slice(seen).join(', ')}`);
  });

  it('postAttachCommand: the features\' (installation order), then the user\'s, on shell and on an attached connect', async () => {
    assert.equal((await mlt(['exec', host, '--', 'rm', '-f', '/tmp/attach.log'])).code, 0);
    // A login shell: /etc/profile would reset PATH; the feature's PATH=/opt/greeter/bin:${PATH} still applies.
    const shell = await runMltoolbox(['-C', sandbox.projectDir, 'shell', host], { env: sandbox.env, cwd: sandbox.root, input: 'echo in-the-shell; greet; exit 0\n', timeoutMs: 120_000 });
    assert.equal(shell.code, 0, shell.stderr);
    assert.match(shell.stdout, /in-the-shell\nhi from greeter\n/);
    const attached = await runMltoolbox(['-C', sandbox.projectDir, 'connect', host, '--skip-sync'], { env: sandbox.env, cwd: sandbox.root, input: 'exit 0\n', timeoutMs: 300_000 });
    assert.equal(attached.code, 0, attached.stderr);
    const once = ['feature-base-tools-attach', 'feature-greeter-attach', 'user-attach'];
    assert.equal(await inContainer('cat /tmp/attach.log'), [...once, ...once, ''].join('\n'));
  });

  it('changing an option rebuilds the feature image and recreates the container', async () => {
    const file = join(sandbox.projectDir, '.devcontainer', 'devcontainer.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('{ "greeting": "hi" }', '{ "greeting": "hey" }'));
    const result = await json(['connect', host, '--no-attach']);
    assert.equal(result.imageAction, 'built');
    assert.equal(result.container.action, 'recreated');
    assert.equal(await inContainer('greet'), 'hey from greeter\n');
  });

  it('config show lists the features with their resolved options', async () => {
    const shown = await json(['config', 'show']);
    const features = shown.features as { id: string; options: Record<string, unknown> }[];
    const greeter = features.find((f) => f.id === `${registry.host}/features/greeter:1`);
    assert.deepEqual(greeter?.options, { greeting: 'hey', loud: false });
  });

  it('a wrong option type is CONFIG_INVALID at its line in devcontainer.json, before anything is built', async () => {
    const project = join(sandbox.root, 'bad-option');
    await mkdir(join(project, '.devcontainer'), { recursive: true });
    await writeFile(join(project, '.devcontainer', 'devcontainer.json'), `{
  "image": "${debian}",
  "features": {
    "${registry.host}/features/greeter:1": {
      "loud": "yes"
    }
  }
}
`);
    const result = await mlt(['connect', host, '--no-attach'], project);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /\[CONFIG_INVALID\]/);
    assert.match(result.stderr, /\.devcontainer\/devcontainer\.json:5:15: option 'loud' of feature 'greeter' is a boolean/);
    assert.deepEqual(await readdir(join(project, '.devcontainer')), ['devcontainer.json'], 'no lockfile written for a failed resolve');
  });

  it('an unreachable registry names the feature and the registry, with a hint', async () => {
    const project = join(sandbox.root, 'offline');
    const port = await freePort(); // free a moment ago: nothing listens there
    await mkdir(join(project, '.devcontainer'), { recursive: true });
    await writeFile(join(project, '.devcontainer', 'devcontainer.json'), `{ "image": "${debian}", "features": { "127.0.0.1:${port}/features/nothing:1": {} } }\n`);
    const result = await mlt(['connect', host, '--no-attach'], project);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, new RegExp(`cannot fetch feature 127\\.0\\.0\\.1:${port}/features/nothing:1 from registry 127\\.0\\.0\\.1:${port}: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\) \\[FEATURE_FETCH_FAILED\\]`));
    assert.match(result.stderr, /hint: features are downloaded by this machine/);
  });
});
