import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isUserError } from '../../../../src/core/errors.ts';
import { MAX_CONFIG_BYTES } from '../../../../src/services/config/config-text.ts';
import { importDevcontainerText } from '../../../../src/services/config/devcontainer/import.ts';
import { loadConfig } from '../../../../src/services/config/loader.ts';
import { tempTree, userError } from './helpers.ts';

/**
 * Abuse suite for configuration input: hostile files end in a result or a
 * positioned CONFIG_* error, never a crash, within a time and memory bound.
 */
const root = tempTree({ 'p/.keep': '' });
const file = join(root, 'p', 'mltoolbox.yaml');
const options = { projectDir: join(root, 'p'), env: { HOME: '/root' }, paths: { configDir: join(root, 'xdg'), systemConfigFile: join(root, 'none') }, secrets: { get: async () => undefined } };

async function load(text: string | Buffer) {
  writeFileSync(file, text);
  return loadConfig(options);
}

/** Runs work and asserts it stayed within a wall time and a heap growth bound. */
async function bounded<T>(what: string, work: () => Promise<T>, ms: number, heapMb = 300): Promise<T> {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const value = await work();
  const took = performance.now() - started;
  assert.ok(took < ms, `${what} took ${Math.round(took)} ms (bound ${ms})`);
  assert.ok(process.memoryUsage().heapUsed - heapBefore < heapMb * 1024 * 1024, `${what} grew the heap beyond ${heapMb} MB`);
  return value;
}

describe('hostile mltoolbox.yaml', () => {
  it('an alias bomb ("billion laughs") is refused at once, at the alias', async () => {
    let yaml = 'a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n';
    for (let i = 1; i < 12; i++) yaml += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]\n`;
    // Bounds are generous: on 2 shared cores under load (load average 20) these took up to 3.5 s; unbounded, they ran minutes.
    const error = await bounded('alias bomb', () => userError(load(yaml), 'CONFIG_UNREADABLE'), 10_000);
    assert.match(error.details.join('\n'), /mltoolbox\.yaml:2:\d+: too many aliases/);
  });

  it('5,000 levels of nesting are a positioned error, not a stack overflow', async () => {
    const error = await bounded('deep yaml', () => userError(load(`x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`), 'CONFIG_UNREADABLE'), 10_000);
    assert.match(error.details[0]!, /mltoolbox\.yaml:1:\d+: nesting deeper than 64 levels/);
  });

  it('binary garbage is refused without echoing a byte of it', async () => {
    const garbage = Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 7919 + 13) % 256));
    const error = await userError(load(garbage), 'CONFIG_UNREADABLE');
    const shown = [error.message, ...error.details, error.hint].join('\n');
    assert.match(error.details[0]!, /mltoolbox\.yaml:1:\d+: binary data here/);
    assert.ok(shown.length < 1000, `printed ${shown.length} characters`);
    assert.doesNotMatch(shown, /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\ufffd]/);
  });

  it('a file over the size limit is refused before it is parsed', async () => {
    const error = await bounded('huge file', () => userError(load(`a: "${'x'.repeat(MAX_CONFIG_BYTES)}"\n`), 'CONFIG_UNREADABLE'), 10_000);
    assert.match(error.message, /limited to 1 MiB/);
  });

  it('a map of env keys validates in linear time (was quadratic: 57 s for 18,333 keys)', async () => {
    const file = (n: number) => {
      const lines = ['environment:', '  base_image: x', '  env:'];
      for (let i = 0; i < n; i++) lines.push(`    K${i}: v${i}`);
      return `${lines.join('\n')}\n`;
    };
    // CPU time, not wall time: the ratio holds on a busy machine. Linear: x4 keys ~ x4 time; quadratic ~ x16.
    const cpu = async (n: number) => {
      const before = process.cpuUsage();
      const loaded = await load(file(n));
      const used = process.cpuUsage(before);
      assert.equal(Object.keys(loaded.config.environment.env).length, n);
      return { ms: (used.user + used.system) / 1000, loaded };
    };
    await cpu(1000); // warm up the JIT
    const small = await cpu(4000);
    const large = await bounded('16k keys', () => cpu(16_000), 30_000);
    assert.ok(large.ms / small.ms < 8, `x4 keys took x${(large.ms / small.ms).toFixed(1)} CPU time (${Math.round(small.ms)} -> ${Math.round(large.ms)} ms)`);
    assert.equal(large.loaded.origins.get('environment.env.K15999')?.line, 16_003);
  });

  it('an empty env name (it would reach the engine as "=v") is an error at its position, in every place a name is written', async () => {
    const yamlError = await userError(load('environment:\n  base_image: x\n  env:\n    "": v\n'), 'CONFIG_INVALID');
    assert.match(yamlError.details[0]!, /mltoolbox\.yaml:4:5: environment\.env: an empty variable name/);
    writeFileSync(join(root, 'p', 'empty.env'), 'A=1\n=v\n');
    const dotenvError = await userError(load('environment:\n  base_image: x\n  env_file: empty.env\n'), 'ENV_FILE_UNREADABLE');
    assert.match(dotenvError.details.join('\n'), /empty\.env:2/);
    assert.throws(() => importDevcontainerText('{"image": "x", "containerEnv": {"": "v"}}', '.devcontainer/devcontainer.json', { projectDir: join(root, 'p') }),
      (e: unknown) => isUserError(e) && /devcontainer\.json:1:\d+: containerEnv: an empty variable name/.test(e.details[0]!));
  });

  it('remote.host and remote.user follow the one target rule at config time, at their position (not at connect, unpositioned)', async () => {
    for (const [yaml, where, message] of [
      ['remote:\n  host: a@b@relhost\n', '2:9', /remote\.host: invalid host 'a@b@relhost': 'a@b' is not a valid user name/],
      ['remote:\n  host: "gpu\\nProxyCommand x"\n', '2:9', /remote\.host: invalid host 'gpu\\nProxyCommand x': it contains whitespace/],
      ['remote:\n  host: gpu\n  user: "a b"\n', '3:9', /remote\.user: 'a b' is not a valid user name/],
    ] as const) {
      const error = await userError(load(yaml), 'CONFIG_INVALID');
      assert.match(error.details[0]!, new RegExp(`mltoolbox\\.yaml:${where}: `), yaml);
      assert.match(error.details[0]!, message);
    }
    for (const host of ['gpu-box', 'alice@gpu-box:2222', 'ssh://alice@gpu-box:2222', '[::1]:2222', '::1']) {
      assert.equal((await load(`remote:\n  host: "${host}"\n  user: alice\n`)).config.remote.host, host);
    }
  });

  it('a UTF-8 BOM is accepted (editors write one)', async () => {
    const loaded = await load('\uFEFFenvironment:\n  base_image: busybox\n');
    assert.equal(loaded.config.environment.base_image, 'busybox');
  });
});

describe('hostile devcontainer.json', () => {
  const importText = (text: string) => importDevcontainerText(text, '.devcontainer/devcontainer.json', { projectDir: join(root, 'p') });

  it('5,000 levels deep is a positioned error', () => {
    const text = `{"image":"x","a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    assert.throws(() => importText(text), (e: unknown) => isUserError(e) && e.code === 'CONFIG_UNREADABLE' && /:1:\d+: nesting deeper than 64/.test(e.details[0]!));
  });

  it('a BOM is accepted and positions still count from the first character after it', () => {
    assert.equal((importText('\uFEFF{"image": "busybox"}').layer.value.environment as { base_image: string }).base_image, 'busybox');
    assert.throws(() => importText('\uFEFF{"image": "busybox", "containerEnv": {"A=B": "v"}}'),
      (e: unknown) => isUserError(e) && /devcontainer\.json:1:39: containerEnv: 'A=B' is not a variable name/.test(e.details[0]!));
  });

  it('property: any text ends in a layer or a positioned CONFIG_* error', () => {
    const piece = fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '//', '/*', '*/', '\\', '"image"', '"build"', '"containerEnv"', '"A=B"', '""', '"x"', '1', 'null', '\uFEFF', '\n', '${localEnv:X}', '"runArgs"', '"--gpus"');
    const text = fc.oneof(fc.array(piece, { maxLength: 40 }).map((p) => p.join('')), fc.string({ unit: 'binary', maxLength: 200 }));
    fc.assert(fc.property(text, (input) => {
      try {
        importText(input);
      } catch (error) {
        assert.ok(isUserError(error), `crash on ${JSON.stringify(input)}: ${(error as Error).stack}`);
        assert.match(error.code, /^CONFIG_/);
        const problems = (error.data?.problems ?? []) as { line?: number }[];
        assert.ok(problems.length > 0 && problems.every((p) => typeof p.line === 'number' && p.line >= 1), `unpositioned: ${error.message}`);
      }
    }), { numRuns: 3000 });
  });
});
