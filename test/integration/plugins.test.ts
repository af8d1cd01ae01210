import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

const EXAMPLE = new URL('../../examples/mltoolbox-plugin-example/index.mjs', import.meta.url).pathname;

/** A plugin that throws in every hook it has. */
const THROWER = `const boom = (hook) => () => { throw Object.assign(new Error('thrower broke in ' + hook), { hint: 'this is the thrower hint' }); };
export default { name: 'thrower', version: '0.0.1', apiVersion: '1.0', hooks: {
  configLoaded: boom('configLoaded'), beforeSync: boom('beforeSync'), containerStart: boom('containerStart'), shutdown: boom('shutdown') } };
`;

/** A plugin whose containerStart never finishes and leaves a timer running. */
const HANGER = `export default { name: 'hanger', version: '0.0.1', apiVersion: '1.0', hooks: {
  containerStart: () => new Promise(() => { setInterval(() => {}, 1000); }) } };
`;

interface Recorded { hook: string; [key: string]: unknown }

/**
 * Plugins end to end through the built binary, against the harness's sshd
 * and Docker: an external plugin file in the user's plugins folder records
 * every hook it receives; a throwing and a hanging plugin do not break
 * connect; a required plugin that throws fails it, naming the plugin.
 */
describe('plugins', async () => {
  const harness = await useHarness();
  const host = harness.ssh.alias;
  let sandbox: Sandbox;
  let project: string;
  let recordFile: string;
  const mlt = (args: string[], dir = project) => runMltoolbox(['-C', dir, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 180_000 });
  const recorded = async (): Promise<Recorded[]> =>
    (await readFile(recordFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Recorded);

  before(async () => {
    sandbox = await createSandbox({ harness });
    const pluginsDir = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'plugins');
    await mkdir(pluginsDir, { recursive: true });
    // Named otherwise on purpose: the host finds a file plugin by the name it exports.
    await copyFile(EXAMPLE, join(pluginsDir, 'recorder.mjs'));
    await writeFile(join(pluginsDir, 'thrower.mjs'), THROWER);
    await writeFile(join(pluginsDir, 'hanger.mjs'), HANGER);
    project = join(sandbox.root, 'plugged');
    recordFile = join(sandbox.root, 'hooks.jsonl');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'src', 'train.py'), 'print(1)\n');
    await writeFile(join(project, 'mltoolbox.yaml'), [
      'project:',
      '  name: plugged',
      'environment:',
      `  base_image: ${harness.docker.baseImage}`,
      '  gpus: none',
      'plugins:',
      '  - name: example',
      '    options:',
      `      record_file: ${JSON.stringify(recordFile)}`,
      '  - thrower',
      '  - name: hanger',
      '    timeout_ms: 700',
      'example:',
      '  greeting: howdy',
      '',
    ].join('\n'));
  });

  after(async () => {
    await mlt(['down', host]);
  });

  it('plugins list shows the file plugin, the built-ins and what is enabled', async () => {
    const result = await mlt(['plugins', 'list', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const plugins = JSON.parse(result.stdout).result.plugins as { name: string; enabled: boolean; sourceKind: string; source: string; hooks: { name: string }[] }[];
    const example = plugins.find((p) => p.name === 'example')!;
    assert.equal(example.enabled, true);
    assert.equal(example.sourceKind, 'file');
    assert.match(example.source, /recorder\.mjs$/);
    assert.ok(example.hooks.some((h) => h.name === 'containerStart'));
    assert.deepEqual(plugins.filter((p) => p.enabled).map((p) => p.name), ['example', 'thrower', 'hanger']);
    assert.ok(plugins.some((p) => p.name === 'ray' && p.sourceKind === 'builtin' && !p.enabled));
  });

  it('connect runs every hook in order; a throwing and a hanging plugin only cost a warning', async () => {
    const started = Date.now();
    const result = await mlt(['connect', host, '--no-attach', '--json']);
    assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
    assert.equal(JSON.parse(result.stdout).result.container.action, 'created');
    assert.match(result.stderr, /plugin thrower failed in hook configLoaded: thrower broke in configLoaded/);
    assert.match(result.stderr, /hint: this is the thrower hint/);
    assert.match(result.stderr, /plugin thrower failed in hook containerStart/);
    assert.match(result.stderr, /plugin hanger failed in hook containerStart: did not finish within 700 ms/);
    // The hanging plugin's leaked timer does not keep the finished command alive.
    assert.ok(Date.now() - started < 120_000);

    const hooks = await recorded();
    assert.deepEqual(hooks.map((h) => h.hook), ['configLoaded', 'beforeSync', 'afterSync', 'containerStart', 'connectComplete', 'shutdown']);
    const start = hooks.find((h) => h.hook === 'containerStart')!;
    assert.equal(start.action, 'created');
    assert.equal(start.exec, 'from-container', 'the context runs commands in the dev container');
    assert.equal(start.host, true, 'a remote target gives the plugin the host');
    assert.equal(start.role, 'head', 'the only target of a connect is its head');
    assert.deepEqual(hooks.at(-1), { hook: 'shutdown', command: 'connect', ok: true });
    assert.equal(hooks.find((h) => h.hook === 'configLoaded')!.project, 'plugged');
  });

  it('sync, fetch and down run their hooks', async () => {
    await writeFile(recordFile, '');
    const sync = await mlt(['sync', host]);
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual((await recorded()).map((h) => h.hook), ['configLoaded', 'beforeSync', 'afterSync', 'shutdown']);

    await writeFile(recordFile, '');
    const fetched = await mlt(['fetch', host, 'src/', 'back']);
    assert.equal(fetched.code, 0, fetched.stderr);
    const fetchHooks = await recorded();
    assert.deepEqual(fetchHooks.map((h) => h.hook), ['configLoaded', 'afterFetch', 'shutdown']);
    assert.deepEqual(fetchHooks[1], { hook: 'afterFetch', target: host, paths: ['src/'], files: fetchHooks[1]!.files, container: true });
    assert.ok(Number(fetchHooks[1]!.files) >= 1, JSON.stringify(fetchHooks[1]));

    await writeFile(recordFile, '');
    const down = await mlt(['down', host]);
    assert.equal(down.code, 0, down.stderr);
    const hooks = await recorded();
    assert.deepEqual(hooks.map((h) => h.hook), ['configLoaded', 'containerStop', 'shutdown']);
    assert.equal(hooks[1]!.action, 'remove');
    assert.deepEqual(hooks[2], { hook: 'shutdown', command: 'down', ok: true });
  });

  it('a plugin command runs with its config section', async () => {
    const result = await mlt(['plugins', 'run', 'example', 'hello', 'Ada']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'howdy, Ada!');
  });

  it('a required plugin that throws fails connect with its name and PLUGIN_HOOK_FAILED', async () => {
    const strict = join(sandbox.root, 'strict');
    await mkdir(strict, { recursive: true });
    await writeFile(join(strict, 'mltoolbox.yaml'), [
      'environment:',
      `  base_image: ${harness.docker.baseImage}`,
      'plugins:',
      '  - name: thrower',
      '    required: true',
      '',
    ].join('\n'));
    const result = await mlt(['connect', host, '--no-attach', '--json'], strict);
    assert.equal(result.code, 1, result.stderr);
    const envelope = JSON.parse(result.stdout);
    assert.equal(envelope.error.code, 'PLUGIN_HOOK_FAILED');
    assert.match(envelope.error.message, /plugin thrower failed in hook configLoaded/);
    assert.equal(envelope.error.hint, 'this is the thrower hint');
    assert.match(result.stderr, /plugin thrower failed in hook configLoaded/);
  });

  it('plugins doctor fails for a missing enabled plugin and config validate names the plugin section problem', async () => {
    const broken = join(sandbox.root, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'mltoolbox.yaml'), 'plugins: [example, not-there]\nexample:\n  greting: hi\n');
    const doctor = await mlt(['plugins', 'doctor', '--json'], broken);
    assert.equal(doctor.code, 5, doctor.stderr);
    const checks = JSON.parse(doctor.stdout).result.checks as { plugin: string; status: string; message: string }[];
    assert.ok(checks.some((c) => c.plugin === 'not-there' && c.status === 'fail'));
    const validate = await mlt(['config', 'validate'], broken);
    assert.equal(validate.code, 3);
    assert.match(validate.stderr, /mltoolbox\.yaml:3/);
    assert.match(validate.stderr, /greting/);
  });
});
