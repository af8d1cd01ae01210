import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePyproject, readPyproject } from '../../../../src/services/config/detect-pyproject.ts';

const PROJECTS = new URL('../../../fixtures/projects/', import.meta.url).pathname;

describe('pyproject.toml', () => {
  it('reads the PEP 621 name and requires-python', async () => {
    const info = await readPyproject(`${PROJECTS}init-pyproject`);
    assert.equal(info?.name, 'Speech_Lab');
    assert.equal(info?.requiresPython, '>=3.10,<3.13');
    assert.equal(info?.pythonVersion, '3.10');
  });

  it('reads poetry projects', async () => {
    const info = await readPyproject(`${PROJECTS}init-dockerfile`);
    assert.equal(info?.name, 'tabular-models');
    assert.equal(info?.pythonVersion, '3.11');
  });

  it('ignores keys of other tables and missing files', async () => {
    assert.deepEqual(parsePyproject('[tool.black]\nname = "x"\n[project]\nversion = "1"\n'), {});
    assert.deepEqual(parsePyproject("[ project ]\nname = 'single'\n"), { name: 'single' });
    assert.equal(await readPyproject('/nonexistent-dir'), undefined);
  });
});
