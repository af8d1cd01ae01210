import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/**
 * `--help` and `--version` must not load SSH, Docker, SQLite or YAML code.
 * esbuild's metafile says which inputs the start-up chunks hold: everything
 * cli.js imports statically. Heavy code must sit behind dynamic import().
 */
const META = new URL('../../../dist/meta.json', import.meta.url);
interface Meta {
  outputs: Record<string, { entryPoint?: string; imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
}
const readMeta = () => JSON.parse(readFileSync(META, 'utf8')) as Meta;

/** The chunks loading `roots` opens: they and everything they import statically. */
function staticClosure(meta: Meta, roots: readonly string[]): Set<string> {
  const loaded = new Set<string>();
  const visit = (output: string) => {
    if (loaded.has(output)) return;
    loaded.add(output);
    for (const imported of meta.outputs[output]?.imports ?? []) {
      if (imported.kind === 'import-statement' && meta.outputs[imported.path]) visit(imported.path);
    }
  };
  for (const root of roots) visit(root);
  return loaded;
}

const FORBIDDEN = [/src\/services\//, /src\/infrastructure\//, /src\/db\//, /src\/orchestrators\//, /node_modules\/(zod|yaml|dockerode|jsonc-parser|ssh2)\//, /node:sqlite/];

describe('start-up stays lazy', { skip: !existsSync(META) && 'run the build first (npm run build)' }, () => {
  it('the chunks cli.js loads eagerly contain no services, YAML, zod, Docker or SQLite', () => {
    const meta = readMeta();
    const eager = staticClosure(meta, ['dist/cli.js']);
    const offenders: string[] = [];
    for (const output of eager) {
      for (const input of Object.keys(meta.outputs[output]!.inputs)) {
        if (FORBIDDEN.some((pattern) => pattern.test(input))) offenders.push(`${output} <- ${input}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});

/**
 * A warm `exec HOST -- CMD` (docs/benchmarks.md): the modules it loads, from the
 * chunks its dynamic imports open, followed through their static imports.
 * node:crypto alone costs ~15 ms of CPU to load; features, sync, the Docker
 * client, YAML and zod are other commands' work.
 */
const WARM_EXEC_ENTRIES = [
  'src/cli/commands/connect/exec.ts', 'src/app/create-app.ts', 'src/app/config-deps.ts', 'src/orchestrators/config/config-orchestrator.ts',
  'src/app/state-deps.ts', 'src/db/index.ts', 'src/app/ssh-deps.ts', 'src/services/ssh/manager.ts', 'src/app/connection-deps.ts',
  'src/orchestrators/connection/connection-orchestrator.ts', 'src/orchestrators/connection/place.ts', 'src/services/containers/exec-command.ts',
];
const NOT_ON_WARM_EXEC = [/src\/services\/(features|images|containers\/(docker|manager))\//, /src\/services\/sync\/(?!config-rules)/, /node_modules\/(zod|yaml|dockerode|jsonc-parser)\//, /src\/orchestrators\/connection\/(connect|image|container-plan)\.ts/];

describe('a warm exec loads only what it uses', { skip: !existsSync(META) && 'run the build first (npm run build)' }, () => {
  it('no node:crypto, features, sync, Docker client, YAML or zod in the chunks it opens', () => {
    const meta = readMeta();
    const roots = Object.entries(meta.outputs).filter(([, output]) => output.entryPoint && WARM_EXEC_ENTRIES.includes(output.entryPoint)).map(([file]) => file);
    assert.equal(roots.length, WARM_EXEC_ENTRIES.length, 'every entry of the warm exec path is a chunk of its own');
    const loaded = staticClosure(meta, ['dist/cli.js', ...roots]);
    const offenders: string[] = [];
    for (const output of loaded) {
      for (const imported of meta.outputs[output]!.imports) if (imported.external && /^(node:)?crypto$/.test(imported.path)) offenders.push(`${output} imports ${imported.path}`);
      for (const input of Object.keys(meta.outputs[output]!.inputs)) if (NOT_ON_WARM_EXEC.some((pattern) => pattern.test(input))) offenders.push(`${output} <- ${input}`);
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
