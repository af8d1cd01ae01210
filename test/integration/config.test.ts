import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox, runMltoolbox, type Sandbox } from '../harness/index.ts';

const FIXTURES = new URL('../fixtures/projects/', import.meta.url).pathname;

/** A sandbox whose project folder is a copy of test/fixtures/projects/<name>. */
async function fixture(name: string, env: NodeJS.ProcessEnv = {}): Promise<Sandbox> {
  const sandbox = await createSandbox({ env });
  cpSync(join(FIXTURES, name), sandbox.projectDir, { recursive: true });
  return sandbox;
}

const mlt = (sandbox: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runMltoolbox(args, { env: { ...sandbox.env, ...env }, cwd: sandbox.projectDir });

describe('config commands (built binary)', () => {
  it('config validate on a valid project names the files used and exits 0', async () => {
    const sandbox = await fixture('config-valid');
    const r = await mlt(sandbox, ['config', 'validate']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration is valid \(using mltoolbox\.yaml\)/);
    assert.match(r.stdout, /project\s+mltoolbox\.yaml/);
    assert.match(r.stdout, /local\s+mltoolbox\.local\.yaml \(not found\)/);
    const json = await mlt(sandbox, ['config', 'validate', '--json']);
    const envelope = JSON.parse(json.stdout);
    assert.equal(envelope.ok, true);
    assert.equal(envelope.result.projectSource.kind, 'mltoolbox.yaml');
  });

  it('config validate on an invalid project lists every problem with positions and exits 3', async () => {
    const sandbox = await fixture('config-invalid');
    const r = await mlt(sandbox, ['config', 'validate']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /\[CONFIG_INVALID\]/);
    assert.match(r.stderr, /5 problems/);
    assert.match(r.stderr, /mltoolbox\.yaml:2:1: unknown key 'enviroment' at the top level \(did you mean 'environment'\?\)/);
    assert.match(r.stderr, /mltoolbox\.yaml:5:13: sync\.strategy: expected one of "rsync", "rclone"; got "scp"/);
    assert.match(r.stderr, /mltoolbox\.yaml:7:14: sync\.watch\.enabled: expected true or false/);
    assert.match(r.stderr, /mltoolbox\.yaml:9:3: unknown key 'hots' in remote \(did you mean 'host'\?\)/);
    assert.match(r.stderr, /mltoolbox\.yaml:10:9: remote\.port: must be at most 65535/);
    assert.ok(r.stderr.includes('     9 |   hots: gpu-box\n       |   ^\n'), r.stderr);
    const json = await mlt(sandbox, ['config', 'validate', '--json']);
    assert.equal(json.code, 3);
    const envelope = JSON.parse(json.stdout);
    assert.equal(envelope.error.code, 'CONFIG_INVALID');
    assert.deepEqual(envelope.error.data.problems.map((p: { line: number; column: number }) => `${p.line}:${p.column}`), ['2:1', '5:13', '7:14', '9:3', '10:9']);
  });

  it('config show --origin: user config < project < local < env, each with its origin', async () => {
    const sandbox = await fixture('config-layered');
    mkdirSync(sandbox.path('config', 'mltoolbox'), { recursive: true });
    cpSync(join(sandbox.projectDir, 'user-config.yaml'), sandbox.path('config', 'mltoolbox', 'config.yaml'));
    const r = await mlt(sandbox, ['config', 'show', '--origin'], { MLTOOLBOX_REMOTE_CONNECT_TIMEOUT: '45' });
    assert.equal(r.code, 0, r.stderr);
    const line = (key: string) => r.stdout.split('\n').find((l) => l.startsWith(`${key} = `));
    assert.match(line('remote.host')!, /^remote\.host = project-host\s+# mltoolbox\.yaml:5:9$/);
    assert.match(line('remote.user')!, /^remote\.user = local-user\s+# mltoolbox\.local\.yaml:2:9$/);
    assert.match(line('remote.identity_file')!, /^remote\.identity_file = ~\/\.ssh\/id_user\s+# .*config\/mltoolbox\/config\.yaml:3:18$/);
    assert.match(line('remote.connect_timeout')!, /^remote\.connect_timeout = 45\s+# env MLTOOLBOX_REMOTE_CONNECT_TIMEOUT$/);
    assert.match(line('sync.respect_gitignore')!, /= false\s+# .*config\.yaml:6:22$/);
    assert.match(line('sync.strategy')!, /= rsync\s+# default$/);
    assert.match(line('environment.ports[0]')!, /= 8888\s+# mltoolbox\.yaml:3:11$/);

    const json = await mlt(sandbox, ['config', 'show', 'remote', '--json'], { MLTOOLBOX_REMOTE_CONNECT_TIMEOUT: '45' });
    const envelope = JSON.parse(json.stdout);
    assert.deepEqual(envelope.result.config, { host: 'project-host', user: 'local-user', identity_file: '~/.ssh/id_user', connect_timeout: 45 });
    assert.deepEqual(envelope.result.origins['remote.user'], { kind: 'local', where: 'mltoolbox.local.yaml:2:9', file: join(sandbox.projectDir, 'mltoolbox.local.yaml'), line: 2, column: 9 });
    assert.deepEqual(envelope.result.origins['remote.connect_timeout'], { kind: 'env', where: 'env MLTOOLBOX_REMOTE_CONNECT_TIMEOUT', name: 'MLTOOLBOX_REMOTE_CONNECT_TIMEOUT' });
  });

  it('config show never prints a secret or a credential from the environment', async () => {
    const sandbox = await fixture('config-valid');
    const r = await mlt(sandbox, ['config', 'show', 'environment.env', '--origin'], { HF_TOKEN: 'hf_very_secret', WANDB_ENTITY: 'team' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /environment\.env\.WANDB_API_KEY = <secret:wandb_api_key>\s+# mltoolbox\.yaml:17:20/);
    assert.match(r.stdout, /environment\.env\.HF_TOKEN = <redacted>\s+# profile ml-research \(\$HF_TOKEN\)/);
    assert.match(r.stdout, /environment\.env\.WANDB_ENTITY = team/);
    assert.match(r.stdout, /environment\.env\.SEED = 42\s+# \.env:2:8/);
    assert.match(r.stdout, /environment\.env\.MESSAGE = hello world/);
    assert.match(r.stdout, /environment\.env\.DATA_DIR = \/data/);
    assert.ok(!r.stdout.includes('hf_very_secret') && !r.stderr.includes('hf_very_secret'));
  });

  it('config show escapes control characters in values: a cloned config cannot drive the terminal', async () => {
    const sandbox = await createSandbox();
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'),
      'environment:\n  base_image: x\n  env:\n    COLOUR: "\\e[31mred\\e]0;title\\a"\n    FORGED: "a\\nenvironment.env.PATH = /evil"\n    C1: "x\\u009b31m"\n    PLAIN: hello world\n');
    const r = await mlt(sandbox, ['config', 'show', 'environment.env', '--origin']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no raw control character');
    assert.match(r.stdout, /^environment\.env\.COLOUR = "\\u001b\[31mred\\u001b\]0;title\\u0007"/m);
    assert.match(r.stdout, /^environment\.env\.FORGED = "a\\nenvironment\.env\.PATH = \/evil"/m);
    assert.match(r.stdout, /^environment\.env\.C1 = "x\\u009b31m"/m);
    assert.match(r.stdout, /^environment\.env\.PLAIN = hello world /m);
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('environment.env.')).length, 4, 'one line per value');
  });

  it('config show KEY: unknown keys are usage errors with a suggestion', async () => {
    const sandbox = await fixture('config-layered');
    const r = await mlt(sandbox, ['config', 'show', 'remote.hots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /CONFIG_KEY_UNKNOWN/);
    assert.match(r.stderr, /did you mean 'remote\.host'/);
  });

  it('config schema prints the JSON Schema', async () => {
    const sandbox = await createSandbox();
    const r = await mlt(sandbox, ['config', 'schema']);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout);
    assert.equal(schema.title, 'mltoolbox.yaml');
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties.environment.properties.gpu_count);
    // The env-name rule config validation applies is in the schema too: an editor flags `A=B:` and an empty name.
    const pattern = new RegExp(schema.properties.environment.properties.env.propertyNames.pattern);
    for (const good of ['PATH', '_x', 'a.b-c']) assert.ok(pattern.test(good), good);
    for (const bad of ['', 'A=B', '1X', 'has space', 'new\nline']) assert.ok(!pattern.test(bad), JSON.stringify(bad));
    assert.equal(schema.properties.profiles.additionalProperties.properties.env.propertyNames.pattern, pattern.source);
  });

  it('with no mltoolbox.yaml, validate says which source was used', async () => {
    const sandbox = await createSandbox();
    const r = await mlt(sandbox, ['config', 'validate']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration is valid \(.*defaults.*\)/);
  });
});

/**
 * Issue 15: a huge config (near the 1 MiB limit per file, tens of thousands of
 * env keys, in the project and the local file) holds the JavaScript thread for
 * seconds while it is parsed, merged and validated. Ctrl-C and SIGTERM must
 * still end the process at once (130/143), not when the work is done.
 */
describe('a slow config load stops at once on SIGINT and SIGTERM', () => {
  const bin = new URL('../../bin/mltoolbox.js', import.meta.url).pathname;
  const hugeEnv = (prefix: string) => {
    const lines = ['version: 1', 'environment:', '  env:'];
    let size = 40;
    for (let i = 0; size < 950_000; i++) {
      const line = `    ${prefix}${i}: value-${i}`;
      lines.push(line);
      size += line.length + 1;
    }
    return `${lines.join('\n')}\n`;
  };
  const start = (sandbox: Sandbox) => {
    const started = Date.now();
    const child = spawn(process.execPath, [bin, 'config', 'validate'], { env: sandbox.env, cwd: sandbox.projectDir, stdio: 'ignore' });
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    return { child, started, ended };
  };

  it('sends the signal halfway through and the process is gone within a second or two', async () => {
    const sandbox = await createSandbox();
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), hugeEnv('P'));
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.local.yaml'), hugeEnv('L'));
    // How long the whole load takes here, now (the machine may be loaded).
    const whole = start(sandbox);
    const finished = await whole.ended;
    assert.equal(finished.code, 0, 'the huge config is valid');
    const duration = finished.at - whole.started;
    assert.ok(duration > 1500, `the load must take a while for this test to mean something (took ${duration} ms)`);

    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const run = start(sandbox);
      await new Promise((resolve) => setTimeout(resolve, duration / 2));
      const sent = Date.now();
      run.child.kill(signal);
      const ended = await run.ended;
      const after = ended.at - sent;
      // The default action (killed by the signal: 130/143 in a shell), or our handler's 130.
      assert.ok(ended.signal === signal || ended.code === 130 || ended.code === status, `${signal}: exit ${ended.code} signal ${ended.signal}`);
      assert.ok(after < Math.min(2000, duration / 2), `${signal}: the process took ${after} ms to stop; the whole load takes ${duration} ms`);
    }
  });
});
