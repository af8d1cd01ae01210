import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { UserError } from '../../../../src/core/errors.ts';
import { chooseDevcontainer, detectProjectConfigSource, findDevcontainerFiles } from '../../../../src/services/config/detect.ts';

const FIXTURES = new URL('../../../fixtures/devcontainer/', import.meta.url).pathname;

function project(files: Record<string, string> = {}, fixture?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlt-detect-'));
  if (fixture) cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const IMAGE = '{ "image": "python:3.12" }';

describe('detectProjectConfigSource', () => {
  it('mltoolbox.yaml comes first and has no layer (the loader reads it)', async () => {
    const dir = project({ 'mltoolbox.yaml': 'version: 1\n', '.devcontainer/devcontainer.json': IMAGE, Dockerfile: 'FROM x\n' });
    const source = await detectProjectConfigSource(dir, { interactive: false });
    assert.equal(source.kind, 'mltoolbox');
    assert.equal(source.layer, undefined);
    assert.equal(source.description, 'using mltoolbox.yaml');
  });

  it('.devcontainer/devcontainer.json, then .devcontainer.json', async () => {
    const both = project({ '.devcontainer/devcontainer.json': IMAGE, '.devcontainer.json': '{ "image": "other" }', Dockerfile: 'FROM x\n' });
    const source = await detectProjectConfigSource(both, { interactive: false });
    assert.equal(source.kind, 'devcontainer');
    assert.equal(source.file, join(both, '.devcontainer/devcontainer.json'));
    assert.equal(source.description, 'using .devcontainer/devcontainer.json');
    assert.deepEqual(source.layer?.value, { environment: { base_image: 'python:3.12' } });

    const root = project({ '.devcontainer.json': IMAGE });
    assert.equal((await detectProjectConfigSource(root, { interactive: false })).description, 'using .devcontainer.json');
  });

  it('the primary devcontainer.json wins over named ones', async () => {
    const dir = project({ '.devcontainer/devcontainer.json': IMAGE }, 'multi');
    assert.equal((await chooseDevcontainer(dir, { interactive: false }))?.name, undefined);
  });

  it('a single named devcontainer is used', async () => {
    const dir = project({ '.devcontainer/only/devcontainer.json': IMAGE });
    const source = await detectProjectConfigSource(dir, { interactive: false });
    assert.equal(source.description, 'using .devcontainer/only/devcontainer.json');
  });

  it('several named ones: --devcontainer NAME picks one', async () => {
    const dir = project({}, 'multi');
    const source = await detectProjectConfigSource(dir, { interactive: false, devcontainerName: 'gpu' });
    assert.equal(source.description, 'using .devcontainer/gpu/devcontainer.json');
    assert.equal((source.layer?.value.environment as Record<string, unknown>).gpu_count, 2);
    assert.match(source.warnings.join('\n'), /cannot be pinned/);
  });

  it('several named ones and no choice: DEVCONTAINER_AMBIGUOUS listing the names', async () => {
    const dir = project({}, 'multi');
    await assert.rejects(detectProjectConfigSource(dir, { interactive: false }), (error: UserError) => {
      assert.equal(error.code, 'DEVCONTAINER_AMBIGUOUS');
      assert.match(error.message, /cpu, gpu/);
      assert.match(error.hint, /--devcontainer/);
      assert.deepEqual(error.data, { available: ['cpu', 'gpu'] });
      return true;
    });
  });

  it('several named ones, interactive: asks', async () => {
    const dir = project({}, 'multi');
    let asked: readonly string[] = [];
    const source = await detectProjectConfigSource(dir, {
      interactive: true,
      prompt: async (_question, choices) => { asked = choices; return 'cpu'; },
    });
    assert.deepEqual(asked, ['cpu', 'gpu']);
    assert.equal(source.description, 'using .devcontainer/cpu/devcontainer.json');
  });

  it('an unknown name is DEVCONTAINER_NOT_FOUND with the names found', async () => {
    const dir = project({}, 'multi');
    await assert.rejects(detectProjectConfigSource(dir, { interactive: false, devcontainerName: 'tpu' }), (error: UserError) => {
      assert.equal(error.code, 'DEVCONTAINER_NOT_FOUND');
      assert.match(error.hint, /--devcontainer cpu, --devcontainer gpu/);
      return true;
    });
    await assert.rejects(detectProjectConfigSource(project(), { interactive: false, devcontainerName: 'x' }), { code: 'DEVCONTAINER_NOT_FOUND' });
  });

  it('--devcontainer NAME wins over mltoolbox.yaml (explicit)', async () => {
    const dir = project({ 'mltoolbox.yaml': 'version: 1\n' }, 'multi');
    const source = await detectProjectConfigSource(dir, { interactive: false, devcontainerName: 'cpu' });
    assert.equal(source.kind, 'devcontainer');
  });

  it('a Dockerfile becomes environment.dockerfile', async () => {
    const dir = project({ Dockerfile: 'FROM python:3.12\n' });
    const source = await detectProjectConfigSource(dir, { interactive: false });
    assert.equal(source.kind, 'dockerfile');
    assert.deepEqual(source.layer?.value, { environment: { dockerfile: { path: 'Dockerfile', context: '.' } } });
    assert.equal(source.layer?.origins.get('environment.dockerfile.path')?.file, join(dir, 'Dockerfile'));
  });

  it('nothing: defaults', async () => {
    const source = await detectProjectConfigSource(project({ 'README.md': 'hi' }), { interactive: false });
    assert.equal(source.kind, 'defaults');
    assert.equal(source.layer, undefined);
    assert.match(source.description, /defaults/);
  });

  it('unsupported devcontainer.json errors surface from detection', async () => {
    await assert.rejects(detectProjectConfigSource(project({}, 'unsupported'), { interactive: false }), { code: 'DEVCONTAINER_UNSUPPORTED' });
  });

  it('findDevcontainerFiles lists named configs sorted, skipping folders without one', async () => {
    const dir = project({ '.devcontainer/b/devcontainer.json': IMAGE, '.devcontainer/a/devcontainer.json': IMAGE, '.devcontainer/empty/README': 'x' });
    const found = await findDevcontainerFiles(dir);
    assert.equal(found.primary, undefined);
    assert.deepEqual(found.named.map((c) => c.name), ['a', 'b']);
  });
});
