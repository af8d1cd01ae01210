// Builds `mlt` as a self-contained executable (a Node single-executable
// application) for linux-x64 and linux-arm64: the agent bundled to one CJS
// file, turned into a SEA blob, injected (postject) into the official Node
// binary of each architecture from the npm packages node-linux-<arch>.
//
// Cached by content: the key is a hash of the bundle and the Node version,
// so an unchanged agent costs one esbuild run and two hard links.
//
//   node scripts/build-agent.mjs          every architecture whose Node is on this machine (no download)
//   node scripts/build-agent.mjs --all    also fetch the other architecture's Node from the npm registry
//
// Output: dist/agent/mlt-linux-<arch> and .gz, plus dist/agent/manifest.json
// ({version, build, node, files: {<arch>: {size, sha256, gzSize}}}) which
// `mltoolbox agent install` reads.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, createWriteStream, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const all = process.argv.includes('--all');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nodeVersion = process.versions.node;
const ARCHES = ['x64', 'arm64'];
const cacheRoot = join(root, '.cache', 'agent');
const nodeCache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mltoolbox', 'node');
const log = (line) => process.stderr.write(`[build-agent] ${line}\n`);

if (process.platform !== 'linux') {
  log(`skipped: the agent is built on Linux (this is ${process.platform})`);
  process.exit(0);
}

// 1. The agent as one CommonJS file (a SEA's main script is CommonJS). Native
// add-ons are left out: ssh2 and docker-modem fall back to pure JS without them.
// Stubbed, as the agent never uses them and each costs start-up time on every
// command: dockerode's BuildKit session and progress decoder (gRPC +
// protobufjs, a third of the bundle: image builds) and docker-modem's ssh://
// transport (which would load ssh2 for `mlt ps`; the agent talks to the local
// socket, and loads ssh2 only for ssh-server).
const STUBS = [
  { folder: join('node_modules', 'dockerode', 'lib'), names: /^\.\/(session|buildkit)$/, what: 'BuildKit' },
  { folder: join('node_modules', 'docker-modem', 'lib'), names: /^\.\/ssh$/, what: "docker-modem's ssh:// transport" },
];
const withoutUnused = {
  name: 'without-unused',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|buildkit|ssh)$/ }, (args) => {
      const stub = STUBS.find((s) => args.importer.includes(s.folder) && s.names.test(args.path));
      return stub ? { path: stub.what, namespace: 'mlt-stub' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'mlt-stub' }, (args) => ({
      contents: `module.exports = function () { throw new Error(${JSON.stringify(`${args.path} is not part of the mlt agent`)}); }; module.exports.followProgress = module.exports;`,
      loader: 'js',
    }));
  },
};
const bundled = await build({
  absWorkingDir: root,
  entryPoints: ['src/agent/sea-main.ts'],
  bundle: true,
  write: false,
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  minify: true,
  legalComments: 'none',
  define: { MLTOOLBOX_VERSION: JSON.stringify(version), 'import.meta.url': '"file:///mlt"' },
  external: ['cpu-features', '*.node'],
  plugins: [withoutUnused],
  logLevel: 'error',
});
const script = bundled.outputFiles[0].contents;
/** Bump when the steps below change what is built from the same script. */
const LAYOUT = 'strip-gz9-stubs2';
const key = createHash('sha256').update(script).update(`node ${nodeVersion} ${LAYOUT}`).digest('hex');
const buildId = key.slice(0, 16);
const dir = join(cacheRoot, key);
mkdirSync(dir, { recursive: true });

/** The pristine node binary for an architecture: this one for the host's, else node-linux-<arch>@<same version> from npm. */
function nodeBinary(arch) {
  if (arch === process.arch) return process.execPath;
  const folder = join(nodeCache, `${nodeVersion}-linux-${arch}`);
  const binary = join(folder, 'bin', 'node');
  if (existsSync(binary)) return binary;
  if (!all) return undefined;
  log(`fetching node-linux-${arch}@${nodeVersion} from the npm registry`);
  const staging = `${folder}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const tgz = execFileSync('npm', ['pack', `node-linux-${arch}@${nodeVersion}`, '--silent', '--pack-destination', staging], { encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['-xzf', join(staging, tgz), '-C', staging, '--strip-components=1', 'package/bin/node']);
  rmSync(join(staging, tgz));
  renameSync(staging, folder);
  return binary;
}

/**
 * The official Node binary carries its symbols and debug info (~18 MB): a
 * host never needs them. llvm-strip handles both architectures; GNU strip
 * only the machine's own. Without either the binary stays as it is.
 */
function stripSymbols(binary, arch) {
  const tools = [['llvm-strip'], ...(arch === process.arch ? [['strip']] : [])];
  for (const [tool] of tools) {
    try {
      execFileSync(tool, ['--strip-all', binary], { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch {
      // not installed, or not for this architecture: try the next
    }
  }
  log(`linux-${arch}: no llvm-strip or strip here; the executable keeps Node's symbols (~18 MB more)`);
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function buildArch(arch) {
  const out = join(dir, `mlt-linux-${arch}`);
  if (existsSync(out) && existsSync(`${out}.gz`) && existsSync(`${out}.json`)) return true;
  const node = nodeBinary(arch);
  if (!node) return false;
  const started = Date.now();
  const work = join(dir, `work-${arch}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'mlt.cjs'), script);
  writeFileSync(join(work, 'build-id'), buildId);
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify({
    main: join(work, 'mlt.cjs'),
    output: join(work, 'sea.blob'),
    disableExperimentalSEAWarning: true,
    // The code cache is specific to the machine that makes it: only for the host's own architecture.
    useCodeCache: arch === process.arch,
    assets: { 'build-id': join(work, 'build-id') },
  }));
  execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const binary = join(work, 'mlt');
  copyFileSync(node, binary);
  chmodSync(binary, 0o755);
  stripSymbols(binary, arch);
  // postject (LIEF) warns about ELF note names it does not know; only a failure is worth showing.
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'postject', 'dist', 'cli.js'), binary, 'NODE_SEA_BLOB', join(work, 'sea.blob'),
      '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`postject failed for linux-${arch}:\n${error.stderr ?? ''}${error.stdout ?? ''}`);
  }
  await pipeline(createReadStream(binary), createGzip({ level: 9 }), createWriteStream(`${binary}.gz`));
  writeFileSync(`${out}.json`, JSON.stringify({ size: statSync(binary).size, sha256: sha256(binary), gzSize: statSync(`${binary}.gz`).size }));
  renameSync(`${binary}.gz`, `${out}.gz`);
  renameSync(binary, out);
  rmSync(work, { recursive: true, force: true });
  log(`built mlt-linux-${arch} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

const built = [];
for (const arch of ARCHES) if (await buildArch(arch)) built.push(arch);

// Older builds go (the two newest stay: switching branches back and forth stays cheap).
const keys = readdirSync(cacheRoot).map((name) => ({ name, at: statSync(join(cacheRoot, name)).mtimeMs })).sort((a, b) => b.at - a.at);
for (const old of keys.slice(2)) if (old.name !== key) rmSync(join(cacheRoot, old.name), { recursive: true, force: true });

const distDir = join(root, 'dist', 'agent');
rmSync(distDir, { recursive: true, force: true });
mkdirSync(distDir, { recursive: true });
const files = {};
for (const arch of built) {
  for (const name of [`mlt-linux-${arch}`, `mlt-linux-${arch}.gz`]) linkSync(join(dir, name), join(distDir, name));
  files[arch] = JSON.parse(readFileSync(join(dir, `mlt-linux-${arch}.json`), 'utf8'));
}
writeFileSync(join(distDir, 'manifest.json'), `${JSON.stringify({ version, build: buildId, node: nodeVersion, files }, null, 2)}\n`);
const missing = ARCHES.filter((a) => !built.includes(a));
log(`mlt ${version} (build ${buildId}): ${built.map((a) => `linux-${a}`).join(', ') || 'no architecture'}${missing.length ? `; not built: ${missing.map((a) => `linux-${a}`).join(', ')} (npm run build:agent fetches its Node)` : ''}`);
