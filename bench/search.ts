import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createSandbox, runMltoolbox } from '../test/harness/index.ts';
import { startLambdaEmulator } from '../test/emulators/lambda.ts';
import { startRunpodEmulator } from '../test/emulators/runpod.ts';
import { startShadeformEmulator } from '../test/emulators/shadeform.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, REPO_ROOT, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { stopwatch } from './lib/stats.ts';

/**
 * `search` across three backends vs the slowest single backend: the three
 * provider emulators answer their offer listing after 300, 500 and 900 ms
 * (a slow cloud API), and `mltoolbox search --gpu H100` asks all three.
 * Parallel means the wall time is about the slowest one's, not the sum.
 * Baseline: `mltoolbox search --backend runpod` (the 900 ms one alone), in
 * the same run. Target: <= 1.2x. No harness needed (HTTP on 127.0.0.1 only).
 *
 *   node bench/search.ts [--runs N]
 */
const runs = numberFlag('runs', 7);
const DELAYS = { lambda: 300, shadeform: 500, runpod: 900 };
const KEYS = { lambda: 'bench-lambda', shadeform: 'bench-shadeform', runpod: 'bench-runpod' };

if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
const [lambda, shadeform, runpod] = await Promise.all([
  startLambdaEmulator({ apiKey: KEYS.lambda }),
  startShadeformEmulator({ apiKey: KEYS.shadeform }),
  startRunpodEmulator({ apiKey: KEYS.runpod }),
]);
let exitCode = 0;
try {
  const sandbox = await createSandbox({
    env: {
      MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'bench',
      MLTOOLBOX_LAMBDA_URL: lambda.url, MLTOOLBOX_SHADEFORM_URL: shadeform.url, MLTOOLBOX_RUNPOD_URL: runpod.url,
    },
  });
  const mlt = (args: string[], input?: string) => runMltoolbox(args, { env: sandbox.env, cwd: sandbox.projectDir, ...(input !== undefined ? { input } : {}) });
  for (const [name, key] of Object.entries(KEYS)) {
    const added = await mlt(['backend', 'add', name], key);
    if (added.code !== 0) throw new Error(`backend add ${name}: ${added.stderr}`);
  }
  // Every listing from now on is slow (bounded: enough for the runs plus a warm-up).
  for (const [emulator, delay] of [[lambda, DELAYS.lambda], [shadeform, DELAYS.shadeform], [runpod, DELAYS.runpod]] as const) {
    emulator.inject('types', { delayMs: delay }, runs * 3 + 4);
  }
  const time = async (args: string[]) => {
    const elapsed = stopwatch();
    const result = await mlt([...args, '--json']);
    const wall = elapsed();
    if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
    return { wall, offers: (JSON.parse(result.stdout).result.offers as unknown[]).length };
  };
  // The same process start, config, secret store and state, without any HTTP: what both rows share.
  const timeFloor = async () => {
    const elapsed = stopwatch();
    const result = await mlt(['backend', 'list', '--offline', '--json']);
    if (result.code !== 0) throw new Error(`backend list: ${result.stderr}`);
    return elapsed();
  };
  note(`warm-up, then ${runs} runs of each`);
  await time(['search', '--gpu', 'H100']);
  await time(['search', '--gpu', 'H100', '--backend', 'runpod']);
  const all: number[] = [];
  const slowest: number[] = [];
  const floor: number[] = [];
  let offers = 0;
  for (let i = 0; i < runs; i++) {
    // Interleaved, so machine noise hits both alike.
    const both = await time(['search', '--gpu', 'H100']);
    all.push(both.wall);
    offers = both.offers;
    slowest.push((await time(['search', '--gpu', 'H100', '--backend', 'runpod'])).wall);
    floor.push(await timeFloor());
  }
  const a = summarize(all);
  const s = summarize(slowest);
  const f = summarize(floor);
  console.log(`search across three backends (listing delays ${DELAYS.lambda}/${DELAYS.shadeform}/${DELAYS.runpod} ms) — ${machineNote()}\n`);
  console.log(markdownTable(['command', 'median', 'min', 'max', 'vs slowest alone'], [
    ['search --gpu H100 (3 backends, ' + offers + ' offers)', ms(a.median), ms(a.min), ms(a.max), ratio(a.median, s.median)],
    ['search --gpu H100 --backend runpod (slowest alone)', ms(s.median), ms(s.min), ms(s.max), '1.00x'],
    ['backend list --offline (start-up, secrets, state; no HTTP)', ms(f.median), ms(f.min), ms(f.max), ''],
    ['sum of the three delays (sequential would add up)', ms(DELAYS.lambda + DELAYS.shadeform + DELAYS.runpod), '', '', ''],
  ]));
  console.log(`\nnetwork part (median minus the no-HTTP floor): 3 backends ${ms(a.median - f.median)}, slowest alone ${ms(s.median - f.median)} (${ratio(a.median - f.median, s.median - f.median)})`);
  const verdict = a.median / s.median <= 1.2 ? 'met' : 'MISSED';
  console.log(`\ntarget <= 1.2x: ${verdict} (${ratio(a.median, s.median)})`);
  note(`results: ${writeResults('search', { runs, delays: DELAYS, all: a, slowest: s, floor: f, ratio: a.median / s.median })}`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await Promise.all([lambda.close(), shadeform.close(), runpod.close()]);
}
process.exit(exitCode);
