// Bundles the two bins with esbuild (code splitting, so each command's
// run.ts and its heavy imports stay in chunks loaded only when used).
// Type checking is tsc's job (`npm run build` runs `tsc -b` first).
import { build } from 'esbuild';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
rmSync(`${root}dist`, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli/main.ts', mlt: 'src/agent/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  metafile: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { MLTOOLBOX_VERSION: JSON.stringify(version) },
  // Native or dynamically-required packages load from node_modules at run time.
  // The relay's server stack (fastify and its plugins, pg) loads from node_modules too: only `relay serve` and `relay token` need it.
  external: ['@napi-rs/keyring', 'dockerode', 'ssh2', 'cpu-features', 'fastify', '@fastify/websocket', '@fastify/swagger', 'fastify-type-provider-zod', 'pg'],
  // jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; use its ESM build.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  // Some CJS deps call require(); give ESM chunks a real one.
  banner: { js: "import { createRequire as __mltCreateRequire } from 'node:module'; const require = __mltCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
writeFileSync(`${root}dist/meta.json`, JSON.stringify(result.metafile));

// `import … from "mltoolbox/plugin"`: the public plugin API as its own small
// file (no chunks, no banner), with the declarations tsc -b emitted for it.
await build({
  absWorkingDir: root,
  entryPoints: { plugin: 'src/plugin-api/index.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  logLevel: 'warning',
});
const pluginTypes = `${root}.tsbuild/src/plugin-api/index.d.ts`;
if (existsSync(pluginTypes)) copyFileSync(pluginTypes, `${root}dist/plugin.d.ts`);
else console.warn('bundle: no .tsbuild/src/plugin-api/index.d.ts; run tsc -b first for dist/plugin.d.ts');

// `mltoolbox --help` is answered by the bin shim from these two files (plain
// and coloured), rendered here by the CLI itself, so the busiest help screen
// starts as fast as `--version`. test/unit/cli/startup.test.ts keeps them true.
const { runCli } = await import(`${root}dist/cli.js`);
const { PassThrough } = await import('node:stream');
for (const [file, env] of [['help.txt', { NO_COLOR: '1' }], ['help.color.txt', { FORCE_COLOR: '1' }]]) {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (chunk) => (text += chunk));
  await runCli({ argv: ['--help'], env, cwd: root, stdin: new PassThrough(), stdout, stderr: new PassThrough() });
  writeFileSync(`${root}dist/${file}`, text);
}
