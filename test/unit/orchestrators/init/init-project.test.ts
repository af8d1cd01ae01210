import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { UserError } from '../../../../src/core/errors.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { loadConfig } from '../../../../src/services/config/loader.ts';
import { DEFAULT_BASE_IMAGE } from '../../../../src/services/config/defaults.ts';
import { initProject, SCHEMA_FILE } from '../../../../src/orchestrators/init/init-project.ts';

const FIXTURES = new URL('../../../fixtures/', import.meta.url).pathname;

function copyFixture(path?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlt-init-'));
  if (path) cpSync(join(FIXTURES, path), dir, { recursive: true });
  return dir;
}

async function init(projectDir: string, extra: { force?: boolean; devcontainerName?: string } = {}) {
  const reporter = createRecordingReporter();
  const result = await initProject({ projectDir, force: extra.force ?? false, interactive: false, reporter, ...(extra.devcontainerName ? { devcontainerName: extra.devcontainerName } : {}) });
  return { result, reporter, text: readFileSync(join(projectDir, 'mltoolbox.yaml'), 'utf8') };
}

/** The written file must load with the real config loader (defaults + this file only). */
async function loads(projectDir: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = await loadConfig({ projectDir, env, paths: { configDir: join(projectDir, '.no-user-config'), systemConfigFile: join(projectDir, '.no-system-config') }, mode: 'redact' });
  assert.equal(loaded.projectSource.kind, 'mltoolbox.yaml');
  return loaded.config;
}

describe('initProject', () => {
  it('converts a devcontainer.json and the result validates', async () => {
    const dir = copyFixture('devcontainer/gpu-dockerfile');
    const { result, reporter, text } = await init(dir);
    assert.ok(text.startsWith(`# yaml-language-server: $schema=${SCHEMA_FILE}\n`));
    assert.deepEqual(result.source, { kind: 'devcontainer', file: '.devcontainer/devcontainer.json' });
    assert.equal(result.projectName, 'vision-training-gpu');
    assert.equal(result.warnings.length, 5);
    assert.match(text, /# Not converted from \.devcontainer\/devcontainer\.json/);
    assert.match(text, /--ipc=host/);
    assert.ok(reporter.lines.includes('info: using .devcontainer/devcontainer.json'));
    assert.ok(reporter.lines.some((l) => l.startsWith('warn: ') && l.includes('--cap-add')));
    const config = await loads(dir, { HF_HOME: '/cache/hf' });
    assert.deepEqual(config.environment.dockerfile, { path: 'docker/Dockerfile', context: '.', args: { PYTHON_VERSION: '3.11', CUDA: '12.4' }, target: 'dev' });
    assert.equal(config.environment.env.HF_HOME, '/cache/hf');
    assert.equal(config.environment.gpus, 'optional');
    assert.equal(config.project?.workdir, `/workspaces/${basename(dir)}`);
    // A token in the local environment is referenced, never written.
    assert.match(text, /WANDB_API_KEY: \$\{env:WANDB_API_KEY:-\}/);
  });

  it('writes the editor schema next to it', async () => {
    const dir = copyFixture('devcontainer/image-basic');
    const { result } = await init(dir);
    const schema = JSON.parse(readFileSync(result.schemaFile, 'utf8')) as Record<string, unknown>;
    assert.equal(result.schemaFile, join(dir, SCHEMA_FILE));
    assert.equal(schema.title, 'mltoolbox.yaml');
    const config = await loads(dir);
    assert.equal(config.environment.base_image, 'mcr.microsoft.com/devcontainers/python:3.12');
    assert.equal(config.environment.gpus, 'required');
  });

  it('uses a Dockerfile and names the project from a poetry pyproject.toml', async () => {
    const dir = copyFixture('projects/init-dockerfile');
    const { result, text } = await init(dir);
    assert.deepEqual(result.source, { kind: 'dockerfile', file: 'Dockerfile' });
    assert.equal(result.projectName, 'tabular-models');
    assert.match(text, /name: tabular-models {3}# from pyproject\.toml/);
    const config = await loads(dir);
    assert.deepEqual(config.environment.dockerfile, { path: 'Dockerfile', context: '.' });
    assert.equal(config.project?.name, 'tabular-models');
  });

  it('pyproject.toml only: default image, Python hint, name slug', async () => {
    const dir = copyFixture('projects/init-pyproject');
    const { result, text } = await init(dir);
    assert.equal(result.source.kind, 'defaults');
    assert.equal(result.projectName, 'speech_lab');
    assert.equal(result.pythonVersion, '3.10');
    assert.match(text, /pyproject\.toml asks for Python >=3\.10,<3\.13/);
    assert.match(text, /python:3\.10-slim/);
    const config = await loads(dir);
    assert.equal(config.project?.name, 'speech_lab');
  });

  it('an empty folder gets a valid default config named after the folder', async () => {
    const dir = copyFixture();
    const { result } = await init(dir);
    assert.equal(result.source.kind, 'defaults');
    const config = await loads(dir);
    assert.equal(config.environment.base_image, DEFAULT_BASE_IMAGE);
    // The written file names the default image itself (not just the defaults layer).
    assert.equal((parse(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8')) as { environment?: { base_image?: string } }).environment?.base_image, DEFAULT_BASE_IMAGE);
    // Every example is commented out: the YAML holds only what was decided.
    const parsed = parse(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['version', 'project', 'environment']);
  });

  it('a folder or pyproject name YAML would read as a number, boolean or null is written quoted and validates', async () => {
    for (const name of ['2024', '1.0', 'null', 'true', '0x1f']) {
      const parent = copyFixture();
      const dir = join(parent, name);
      cpSync(copyFixture(), dir, { recursive: true });
      await init(dir);
      assert.equal((await loads(dir)).project.name, name);
    }
    const dir = copyFixture();
    writeFileSync(join(dir, 'pyproject.toml'), '[project]\nname = "3.14"\n');
    await init(dir);
    assert.equal((await loads(dir)).project.name, '3.14');
  });

  it('refuses to overwrite mltoolbox.yaml (CONFIG_EXISTS); --force keeps a backup', async () => {
    const dir = copyFixture('projects/init-dockerfile');
    writeFileSync(join(dir, 'mltoolbox.yaml'), 'version: 1\n# mine\n');
    await assert.rejects(init(dir), (error: UserError) => {
      assert.equal(error.code, 'CONFIG_EXISTS');
      assert.match(error.hint, /--force/);
      return true;
    });
    assert.equal(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8'), 'version: 1\n# mine\n');
    const { result } = await init(dir, { force: true });
    assert.equal(result.backup, join(dir, 'mltoolbox.yaml.bak'));
    assert.equal(readFileSync(join(dir, 'mltoolbox.yaml.bak'), 'utf8'), 'version: 1\n# mine\n');
    assert.match(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8'), /dockerfile:/);
    // A second --force keeps the first backup (the user's own file) and adds a dated one.
    const again = await init(dir, { force: true });
    assert.match(again.result.backup ?? '', /mltoolbox\.yaml\.bak\.\d{4}-/);
    assert.equal(readFileSync(join(dir, 'mltoolbox.yaml.bak'), 'utf8'), 'version: 1\n# mine\n');
  });

  it('appends mltoolbox.local.yaml to an existing .gitignore once, never creates one', async () => {
    const dir = copyFixture('projects/init-pyproject');
    writeFileSync(join(dir, '.gitignore'), '.venv/\n__pycache__');
    const first = await init(dir);
    assert.equal(first.result.gitignoreUpdated, true);
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), '.venv/\n__pycache__\nmltoolbox.local.yaml\n');
    const second = await init(dir, { force: true });
    assert.equal(second.result.gitignoreUpdated, false);
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), '.venv/\n__pycache__\nmltoolbox.local.yaml\n');

    const bare = copyFixture('projects/init-pyproject');
    assert.equal((await init(bare)).result.gitignoreUpdated, false);
    assert.equal(existsSync(join(bare, '.gitignore')), false);
  });

  it('several dev containers: --devcontainer NAME, else DEVCONTAINER_AMBIGUOUS (nothing written)', async () => {
    const dir = copyFixture('devcontainer/multi');
    await assert.rejects(init(dir), { code: 'DEVCONTAINER_AMBIGUOUS' });
    assert.equal(existsSync(join(dir, 'mltoolbox.yaml')), false);
    const { result } = await init(dir, { devcontainerName: 'cpu' });
    assert.deepEqual(result.source, { kind: 'devcontainer', file: '.devcontainer/cpu/devcontainer.json' });
    assert.equal((await loads(dir)).environment.base_image, 'python:3.12-slim');
  });

  it('an unsupported devcontainer.json writes nothing', async () => {
    const dir = copyFixture('devcontainer/unsupported');
    await assert.rejects(init(dir), { code: 'DEVCONTAINER_UNSUPPORTED' });
    assert.equal(existsSync(join(dir, 'mltoolbox.yaml')), false);
    assert.equal(existsSync(join(dir, SCHEMA_FILE)), false);
  });

  it('the legacy fixture converts and validates too', async () => {
    const dir = copyFixture('devcontainer/legacy');
    await init(dir);
    const config = await loads(dir);
    assert.equal(config.environment.gpu_count, 2);
    assert.deepEqual(config.environment.ports, ['8080:80']);
  });
});
