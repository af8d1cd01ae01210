import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/**
 * `--help` and `--version` must not load SSH, Docker, SQLite or YAML code.
 * esbuild's metafile says which inputs the start-up chunks hold: everything
 * cli.js imports statically. Heavy code must sit behind dynamic import().
 */
const META = new URL('../../../dist/meta.json', import.meta.url);
const FORBIDDEN = [/src\/services\//, /src\/infrastructure\//, /src\/db\//, /src\/orchestrators\//, /node_modules\/(zod|yaml|dockerode|jsonc-parser|ssh2)\//, /node:sqlite/];

describe('start-up stays lazy', { skip: !existsSync(META) && 'run the build first (npm run build)' }, () => {
  it('the chunks cli.js loads eagerly contain no services, YAML, zod, Docker or SQLite', () => {
    const meta = JSON.parse(readFileSync(META, 'utf8')) as {
      outputs: Record<string, { imports: { path: string; kind: string }[]; inputs: Record<string, unknown> }>;
    };
    const eager = new Set<string>();
    const visit = (output: string) => {
      if (eager.has(output)) return;
      eager.add(output);
      for (const imported of meta.outputs[output]?.imports ?? []) {
        if (imported.kind === 'import-statement' && meta.outputs[imported.path]) visit(imported.path);
      }
    };
    visit('dist/cli.js');
    const offenders: string[] = [];
    for (const output of eager) {
      for (const input of Object.keys(meta.outputs[output]!.inputs)) {
        if (FORBIDDEN.some((pattern) => pattern.test(input))) offenders.push(`${output} <- ${input}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});

describe('prebuilt --help', { skip: !existsSync(new URL('../../../dist/help.txt', import.meta.url)) && 'run the build first (npm run build)' }, () => {
  it('dist/help*.txt are what the CLI renders (the bin shim prints them)', async () => {
    const { PassThrough } = await import('node:stream');
    const { runCli } = await import('../../../src/cli/main.ts');
    for (const [file, env] of [['help.txt', { NO_COLOR: '1' }], ['help.color.txt', { FORCE_COLOR: '1' }]] as const) {
      const stdout = new PassThrough();
      let text = '';
      stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      await runCli({ argv: ['--help'], env, cwd: process.cwd(), stdin: new PassThrough(), stdout, stderr: new PassThrough() });
      assert.equal(readFileSync(new URL(`../../../dist/${file}`, import.meta.url), 'utf8'), text, `${file} is stale: npm run build`);
    }
  });

  it('the shim answers --help without loading the CLI, honouring NO_COLOR', async () => {
    const { execFileSync } = await import('node:child_process');
    const bin = new URL('../../../bin/mltoolbox.js', import.meta.url).pathname;
    const plain = execFileSync(process.execPath, [bin, '--help'], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
    assert.equal(plain, readFileSync(new URL('../../../dist/help.txt', import.meta.url), 'utf8'));
    const colored = execFileSync(process.execPath, [bin, '-h'], { env: { PATH: process.env.PATH, FORCE_COLOR: '1' }, encoding: 'utf8' });
    assert.match(colored, /\u001b\[1m/);
  });
});
