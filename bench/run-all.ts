/**
 * Every benchmark, one after another, with one shared harness (sshd on
 * loopback + Docker) passed down in MLT_HARNESS_INFO: `npm run bench`.
 *   --quick       fewer runs and smaller inputs (a few minutes; figures are rougher)
 *   NAME …        only these (exec, sync, config, connect, …)
 * Each benchmark prints its own markdown table (stdout) and writes
 * bench/results/<name>-<timestamp>.json. The exit code is non-zero when any
 * benchmark failed to run (a missed target is a figure, not a failure).
 * Usage: npm run bench [-- --quick] [-- exec sync]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness } from '../test/harness/index.ts';
import { HARNESS_ENV } from '../test/harness/harness.ts';
import { note, REPO_ROOT } from './lib/report.ts';

/** Arguments for --quick: enough runs for a ratio, not for a tight one. */
const QUICK: Record<string, string[]> = {
  exec: ['--runs', '5'],
  sync: ['--runs', '3', '--files', '2000'],
  config: ['--runs', '10'],
  connect: ['--runs', '3'],
  search: ['--runs', '2'],
  provision: ['--runs', '1'],
  relay: ['--short', '--agents', '20', '--viewers', '3'],
  features: ['--runs', '1'],
  'image-transfer': ['--mb', '50', '--top', '5'],
  agent: ['--runs', '3'],
  watch: ['--saves', '5', '--files', '50'],
  startup: ['5'],
};
/** The cheap ones first: a broken build shows in seconds. */
const ORDER = ['config', 'startup', 'exec', 'sync', 'connect', 'watch', 'agent', 'search', 'provision', 'features', 'image-transfer', 'relay'];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const benchDir = join(REPO_ROOT, 'bench');
const available = readdirSync(benchDir)
  .filter((f) => (f.endsWith('.ts') && f !== 'run-all.ts') || f === 'startup.sh')
  .map((f) => f.replace(/\.(ts|sh)$/, ''));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (there are: ${available.join(', ')})`);
  process.exit(2);
}
const selected = [...ORDER.filter((n) => available.includes(n)), ...available.filter((n) => !ORDER.includes(n)).sort()]
  .filter((n) => wanted.length === 0 || wanted.includes(n));
if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) {
  console.error('dist/cli.js is missing: run `npm run build` first (the benchmarks time the built binary)');
  process.exit(2);
}

note(`load before: ${readLoad()}`);
note('starting one harness for every benchmark (sshd on loopback + Docker)');
const harness = await startHarness();
const { stop: _stop, ...info } = harness;
const failed: string[] = [];
try {
  for (const name of selected) {
    const extra = quick ? QUICK[name] ?? [] : [];
    const command = name === 'startup' ? ['bash', [join(benchDir, 'startup.sh'), ...extra]] as const : [process.execPath, [join(benchDir, `${name}.ts`), ...extra]] as const;
    if (name === 'startup' && spawnSync('sh', ['-c', 'command -v hyperfine'], { stdio: 'ignore' }).status !== 0) {
      note('startup: skipped (hyperfine is not installed: apt-get install hyperfine)');
      continue;
    }
    note(`── ${name} ${extra.join(' ')}`);
    const result = spawnSync(command[0], command[1], { stdio: 'inherit', env: { ...process.env, [HARNESS_ENV]: JSON.stringify(info) }, timeout: 30 * 60_000 });
    if (result.status !== 0) failed.push(name);
  }
} finally {
  await harness.stop();
}
note(`load after: ${readLoad()}`);
if (failed.length > 0) {
  console.error(`failed to run: ${failed.join(', ')}`);
  process.exit(1);
}

function readLoad(): string {
  return spawnSync('uptime', { encoding: 'utf8' }).stdout?.trim() ?? '?';
}
