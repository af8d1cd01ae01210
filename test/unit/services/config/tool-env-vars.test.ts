import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ENV_VAR_KEYS, TOOL_ENV_VARS } from '../../../../src/services/config/env-layer.ts';

const SRC = new URL('../../../../src/', import.meta.url).pathname;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

describe('MLTOOLBOX_* variables', () => {
  it('every variable the code reads is a config key or a known tool setting (no false "not a setting" warnings)', () => {
    const used = new Set<string>();
    for (const file of files(SRC)) for (const match of readFileSync(file, 'utf8').matchAll(/\bMLTOOLBOX_[A-Z_]+\b/g)) used.add(match[0]);
    // MLTOOLBOX_VERSION is the bundle's build-time constant, not an environment variable.
    used.delete('MLTOOLBOX_VERSION');
    const unknown = [...used].filter((name) => !(name in ENV_VAR_KEYS) && !TOOL_ENV_VARS.includes(name)).sort();
    assert.deepEqual(unknown, [], 'add these to TOOL_ENV_VARS (or ENV_VAR_KEYS) in src/services/config/env-layer.ts');
  });
});
