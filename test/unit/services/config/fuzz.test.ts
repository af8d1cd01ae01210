import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { isUserError } from '../../../../src/core/errors.ts';
import { loadConfig } from '../../../../src/services/config/loader.ts';
import { tempTree } from './helpers.ts';
import { writeFileSync } from 'node:fs';

/**
 * Property: whatever YAML is in mltoolbox.yaml, the loader either returns a
 * valid config or throws a UserError whose problems carry a position (file
 * line, or the env var that set the value). It never crashes.
 */
const VALID = `version: 1
project:
  name: demo
  workdir: /workspace
environment:
  base_image: python:3.12
  env:
    A: "1"
    B: \${env:HOME:-/root}
  ports: [8888, "6006:6006"]
  gpu_count: all
  gpus: optional
  shm_size: 8g
  post_create_command: pip install -e .
sync:
  exclude: [data/]
  strategy: rsync
  watch:
    enabled: false
remote:
  host: gpu
  port: 22
ray:
  enabled: false
plugins: [ray]
`;

const KEYS = ['version', 'project', 'name', 'workdir', 'environment', 'base_image', 'dockerfile', 'path', 'env', 'env_file', 'profile',
  'ports', 'gpu_count', 'gpus', 'sync', 'exclude', 'strategy', 'watch', 'enabled', 'remote', 'host', 'port', 'ray', 'plugins', 'hooks', 'x', '__proto__'];

const scalar = fc.oneof(
  fc.constantFrom('all', 'rsync', 'required', '${env:HOME}', '${env:NOPE}', '${secret:s}', '$${x}', '${', '8888:8888', 'ml-research', '', '~', 'null', '.env', '/abs'),
  fc.integer({ min: -5, max: 70000 }), fc.boolean(), fc.double(), fc.string({ maxLength: 8 }),
);

/** Config-shaped trees: real keys at realistic depths, random values. */
const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie('node'), { maxKeys: 4 })),
})).node;

/** Byte-level mutations of a valid file: the kind of damage typing does. */
const mutated = fc.tuple(fc.nat({ max: VALID.length }), fc.nat({ max: 6 }), fc.constantFrom('', ':', ' ', '  ', '\t', '-', '[', ']', '{', '}', '"', "'", '&a', '*a', '#', '\n', '? ', '!!binary ', '%YAML 1.1\n---\n', 'x'))
  .map(([at, remove, insert]) => VALID.slice(0, at) + insert + VALID.slice(at + remove));

function hasPosition(problem: Record<string, unknown>): boolean {
  return typeof problem.line === 'number' || typeof problem.name === 'string' || typeof problem.origin === 'string';
}

describe('loader fuzz', () => {
  const root = tempTree({ 'p/.keep': '' });
  const file = join(root, 'p', 'mltoolbox.yaml');
  const options = { projectDir: join(root, 'p'), env: { HOME: '/root' }, paths: { configDir: join(root, 'xdg'), systemConfigFile: join(root, 'none') }, secrets: { get: async () => undefined } };
  let valid = 0;
  let invalid = 0;

  const check = async (text: string) => {
    writeFileSync(file, text);
    try {
      await loadConfig(options);
      valid++;
    } catch (error) {
      if (!isUserError(error)) throw new Error(`loader crashed on:\n${text}\n${(error as Error).stack}`);
      invalid++;
      assert.ok(['CONFIG_INVALID', 'CONFIG_UNREADABLE', 'INTERPOLATION_FAILED', 'ENV_FILE_UNREADABLE', 'PROFILE_UNKNOWN'].includes(error.code), error.code);
      assert.equal(error.exitCode, 3);
      const problems = (error.data?.problems ?? []) as Record<string, unknown>[];
      assert.ok(problems.length > 0, `no problems listed for ${error.code}: ${error.message}`);
      for (const problem of problems) assert.ok(hasPosition(problem), `problem without a position: ${JSON.stringify(problem)}\n${text}`);
      const filePositions = problems.filter((p) => p.file === file);
      for (const p of filePositions) assert.ok((p.line as number) >= 1 && (p.column as number) >= 1);
    }
  };

  it('600 mutated copies of a valid file', async () => {
    await fc.assert(fc.asyncProperty(mutated, check), { numRuns: 600 });
  });

  it('600 generated config trees', async () => {
    await fc.assert(fc.asyncProperty(tree, (value) => check(stringify(value))), { numRuns: 600 });
  });

  it('200 arbitrary strings', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200, unit: 'binary' }), check), { numRuns: 200 });
  });

  it('saw both outcomes', () => {
    assert.ok(valid > 10, `valid: ${valid}`);
    assert.ok(invalid > 10, `invalid: ${invalid}`);
  });
});
