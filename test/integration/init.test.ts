import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSandbox, runMltoolbox } from '../harness/index.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** A sandbox whose project folder holds a copy of a fixture. */
async function sandboxWith(fixture: string) {
  const sandbox = await createSandbox();
  cpSync(join(FIXTURES, fixture), sandbox.projectDir, { recursive: true });
  return sandbox;
}

describe('mltoolbox init', () => {
  it('converts a devcontainer.json into a mltoolbox.yaml that validates', async () => {
    const sandbox = await sandboxWith('devcontainer/gpu-dockerfile');
    writeFileSync(join(sandbox.projectDir, '.gitignore'), 'data/\n');
    const r = await runMltoolbox(['init'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote mltoolbox\.yaml from \.devcontainer\/devcontainer\.json/);
    assert.match(r.stderr, /using \.devcontainer\/devcontainer\.json/);
    assert.match(r.stderr, /--ipc=host/);
    const text = readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\.mltoolbox\/schema\.json/);
    assert.ok(existsSync(join(sandbox.projectDir, '.mltoolbox/schema.json')));
    assert.equal(readFileSync(join(sandbox.projectDir, '.gitignore'), 'utf8'), 'data/\nmltoolbox.local.yaml\n');

    const validate = await runMltoolbox(['config', 'validate'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(validate.code, 0, validate.stderr);
    const show = await runMltoolbox(['config', 'show', 'environment.shm_size', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /16g/);
  });

  it('keeps features (local folders re-expressed, lockfile copied); config show lists them with resolved options', async () => {
    const sandbox = await sandboxWith('devcontainer/features');
    const r = await runMltoolbox(['init'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'utf8');
    assert.match(text, /features:\n\s+ghcr\.io\/devcontainers\/features\/common-utils:2:\n\s+installZsh: false\n\s+\.\/\.devcontainer\/my-feature:\n\s+level: high/);
    assert.match(text, /override_feature_install_order:\n\s+- \.\/\.devcontainer\/my-feature/);
    assert.equal(readFileSync(join(sandbox.projectDir, 'devcontainer-lock.json'), 'utf8'), readFileSync(join(sandbox.projectDir, '.devcontainer', 'devcontainer-lock.json'), 'utf8'));

    const show = await runMltoolbox(['config', 'show', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(show.code, 0, show.stderr);
    const features = JSON.parse(show.stdout).result.features;
    assert.deepEqual(features, [
      { id: './.devcontainer/my-feature', version: '0.2.0', options: { level: 'high', verbose: true }, resolved: true },
      { id: 'ghcr.io/devcontainers/features/common-utils:2', options: { installZsh: false }, resolved: false },
    ]);
    const human = await runMltoolbox(['config', 'show'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.match(human.stdout, /features \(installation order\):\n  1\. \.\/\.devcontainer\/my-feature 0\.2\.0\n       level = high\n       verbose = true\n  2\. ghcr\.io\/devcontainers\/features\/common-utils:2   \(not fetched yet/);
  });

  it('init twice: exit 1 CONFIG_EXISTS; --force keeps a backup', async () => {
    const sandbox = await sandboxWith('projects/init-dockerfile');
    const first = await runMltoolbox(['init'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(first.code, 0, first.stderr);
    const original = readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'utf8');

    const second = await runMltoolbox(['init', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(second.code, 1);
    assert.equal(JSON.parse(second.stdout).error.code, 'CONFIG_EXISTS');
    assert.match(second.stderr, /\[CONFIG_EXISTS\]/);
    assert.match(second.stderr, /--force/);

    writeFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), `${original}# my edit\n`);
    const forced = await runMltoolbox(['init', '--force', '--json'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(forced.code, 0, forced.stderr);
    const result = JSON.parse(forced.stdout).result;
    assert.equal(result.backup, join(sandbox.projectDir, 'mltoolbox.yaml.bak'));
    assert.equal(result.source.kind, 'dockerfile');
    assert.equal(result.projectName, 'tabular-models');
    assert.equal(readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml.bak'), 'utf8'), `${original}# my edit\n`);
    assert.equal(readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'utf8'), original);
  });

  it('several dev containers: exit 3 DEVCONTAINER_AMBIGUOUS without a TTY, --devcontainer picks one', async () => {
    const sandbox = await sandboxWith('devcontainer/multi');
    const ambiguous = await runMltoolbox(['init'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(ambiguous.code, 3);
    assert.match(ambiguous.stderr, /\[DEVCONTAINER_AMBIGUOUS\]/);
    assert.match(ambiguous.stderr, /cpu, gpu/);

    const unknown = await runMltoolbox(['init', '--devcontainer', 'tpu'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /\[DEVCONTAINER_NOT_FOUND\]/);

    const picked = await runMltoolbox(['init', '--devcontainer', 'gpu'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(picked.code, 0, picked.stderr);
    assert.match(readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'utf8'), /gpu_count: 2/);
  });

  it('dockerComposeFile: exit 3 DEVCONTAINER_UNSUPPORTED with positions', async () => {
    const sandbox = await sandboxWith('devcontainer/unsupported');
    const r = await runMltoolbox(['init'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /\[DEVCONTAINER_UNSUPPORTED\]/);
    assert.match(r.stderr, /\.devcontainer\/devcontainer\.json:3:3: 'dockerComposeFile'/);
    assert.equal(existsSync(join(sandbox.projectDir, 'mltoolbox.yaml')), false);
  });
});
