// Bundles the two bins with esbuild (code splitting, so each command's
// run.ts and its heavy imports stay in chunks loaded only when used).
// Type checking is tsc's job (`npm run build` runs `tsc -b` first).
import { build } from 'esbuild';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
rmSync(`${root}dist`, { recursive: true, force: true });
// What both builds share: ESM chunks for Node 22+, a linked source map, the version, and a real require() for
// the CommonJS dependencies that call it.
const common = {
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  metafile: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { MLTOOLBOX_VERSION: JSON.stringify(version) },
  // Made on first call: every chunk carries the banner, and a createRequire per chunk at load is ~0.1 ms each.
  banner: { js: "import { createRequire as __mltCreateRequire } from 'node:module'; let __mltRequire; function require(id) { return (__mltRequire ??= __mltCreateRequire(import.meta.url))(id); }" },
  logLevel: 'warning',
};
const result = await build({
  ...common,
  entryPoints: { cli: 'src/cli/main.ts', mlt: 'src/agent/main.ts' },
  outdir: 'dist',
  // Native or dynamically-required packages load from node_modules at run time.
  // The relay's server stack (fastify, its ajv, pg) loads from node_modules too: only the relay and `relay token` need it.
  external: ['@napi-rs/keyring', 'dockerode', 'ssh2', 'cpu-features', 'fastify', '@fastify/websocket', 'ajv', 'pg'],
  // jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; use its ESM build.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
});
writeFileSync(`${root}dist/meta.json`, JSON.stringify(result.metafile));
for (const file of Object.keys(result.metafile.outputs)) if (file.endsWith('.js')) builtinsAsObjects(`${root}${file}`);

/**
 * `import { x } from "node:fs"` → `const { x } = process.getBuiltinModule("node:fs")`, in the files of the CLI and the agent (mlt) bundle.
 * An ESM import of a built-in module builds its namespace, and that reads every export: node:fs's lazy
 * ones load fs/promises, fs/dir, Utf8Stream and the streams behind them (~17 M instructions, ~8 ms, for
 * each command, measured with callgrind). The module object reads only what is used. Line count is kept,
 * so the source maps still point at the right lines. Any other form of import of these modules fails the build.
 */
function builtinsAsObjects(file) {
  const EAGER = '(?:fs|child_process|util|crypto)';
  const source = readFileSync(file, 'utf8');
  const rewritten = source.replace(new RegExp(`^import \\{([^}]*)\\} from "(node:${EAGER})";$`, 'gm'), (whole, names, module) => {
    const fields = names.split(',').map((n) => n.trim()).filter(Boolean).map((n) => {
      const [name, local] = n.split(/\s+as\s+/);
      if (name === 'default') throw new Error(`bundle: ${file}: default import of ${module}`);
      return local && local !== name ? `${name}: ${local}` : name;
    });
    return `const { ${fields.join(', ')} } = process.getBuiltinModule("${module}");${'\n'.repeat(whole.split('\n').length - 1)}`;
  });
  const left = rewritten.match(new RegExp(`^import [^;]*from "node:${EAGER}";$`, 'm'));
  if (left) throw new Error(`bundle: ${file}: ${left[0]} (add its form to builtinsAsObjects)`);
  if (rewritten !== source) writeFileSync(file, rewritten);
}

// dist/relay/main.js: the long-lived relay alone (docs/relay.md#memory), which `relay serve` replaces itself
// with. Its own build: fastify, ws and ajv are bundled in (one file instead of a few hundred CommonJS modules),
// the CLI, zod and swagger stay out (its JSON Schemas and OpenAPI document were generated at build time by
// scripts/relay-api.mjs). The Node modules fastify and ws require on load but use only for TLS, HTTP/2 or a
// WebSocket client or compression (https, tls, http2, zlib) load when first used.
const LAZY_BUILTINS = /^(node:)?(http2|https|tls|zlib)$/;
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(on) {
    on.onResolve({ filter: LAZY_BUILTINS }, (args) => (args.importer.includes('/node_modules/') ? { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' } : undefined));
    on.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      loader: 'js',
      contents: `let real;
const load = () => (real ??= process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)}));
module.exports = new Proxy({}, {
  get: (_target, key) => load()[key],
  has: (_target, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_target, key) => { const found = Object.getOwnPropertyDescriptor(load(), key); return found && { ...found, configurable: true }; },
});`,
    }));
  },
};
const relay = await build({
  ...common,
  entryPoints: { main: 'src/relay/main.ts' },
  outdir: 'dist/relay',
  // PostgreSQL (a team relay) loads from node_modules when relay.database_url is set.
  external: ['pg', 'pg-native'],
  plugins: [lazyBuiltins],
  // V8 keeps every module's source text in the heap: without comments and whitespace the relay is ~3 MiB
  // smaller (bench/relay.ts); names stay, so a stack trace still reads.
  minifyWhitespace: true,
  minifySyntax: true,
});
const forbidden = Object.keys(relay.metafile.inputs).filter((input) => /node_modules\/(zod|@fastify\/swagger)\/|src\/cli\/|src\/relay\/server\/api\.ts/.test(input));
if (forbidden.length) throw new Error(`bundle: dist/relay would contain ${forbidden.slice(0, 5).join(', ')}`);

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
