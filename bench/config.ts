/**
 * `mltoolbox config show` in a project with a mltoolbox.yaml against bare
 * `node -e 0` (target <= 1.6x), with the levers apart: the validated-config
 * cache missed (a fresh cache folder each run: YAML + schema + the store),
 * and Node's compile cache off (NODE_DISABLE_COMPILE_CACHE=1).
 * Needs no harness: nothing here leaves this machine.
 * Usage: node bench/config.ts [--runs N]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timedOk } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, REPO_ROOT, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

const runs = numberFlag('runs', 20);
const root = mkdtempSync(join(tmpdir(), 'mlt-bench-config-'));
try {
  const project = join(root, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'mltoolbox.yaml'), 'version: 1\nproject:\n  name: bench-config\nenvironment:\n  base_image: python:3.12-slim\n  ports: [8888]\nremote:\n  host: gpu-box\n');
  const home = join(root, 'home');
  mkdirSync(home);
  const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), XDG_STATE_HOME: join(home, '.state'), NO_COLOR: '1' };
  const bin = join(REPO_ROOT, 'bin', 'mltoolbox.js');
  const show = (extra: NodeJS.ProcessEnv = {}) => timedOk(process.execPath, [bin, '-C', project, 'config', 'show'], { env: { ...env, ...extra }, cwd: project });
  // Warm-up: fills the compile cache and the config cache (and the page cache).
  for (let i = 0; i < 3; i++) await show();
  await timedOk(process.execPath, ['-e', '0']);

  // CPU time (user + sys, from /usr/bin/time) moves far less than wall time on a shared, loaded machine.
  const cpu = async (command: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<number> => {
    const result = await timedOk('/usr/bin/time', ['-f', 'MLTCPU %U %S', command, ...args], { env: { ...env, ...extra }, cwd: project });
    const match = /MLTCPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
    return match ? (Number(match[1]) + Number(match[2])) * 1000 : Number.NaN;
  };
  const haveTime = existsSync('/usr/bin/time');

  note(`timing ${runs} runs of each, interleaved`);
  const series: Record<string, number[]> = { node: [], show: [], configMiss: [], compileOff: [], version: [] };
  for (let i = 0; i < runs; i++) {
    series.node!.push((await timedOk(process.execPath, ['-e', '0'], { env })).ms);
    series.show!.push((await show()).ms);
    series.configMiss!.push((await show({ MLTOOLBOX_CACHE_DIR: join(root, `miss-${i}`) })).ms);
    series.compileOff!.push((await show({ NODE_DISABLE_COMPILE_CACHE: '1' })).ms);
    series.version!.push((await timedOk(process.execPath, [bin, '--version'], { env })).ms);
    if (haveTime) {
      (series.nodeCpu ??= []).push(await cpu(process.execPath, ['-e', '0']));
      (series.showCpu ??= []).push(await cpu(process.execPath, [bin, '-C', project, 'config', 'show']));
    }
  }
  const s = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, summarize(v)]));
  const base = s.node!.median;
  const target = markdownTable(['config show', 'median', 'baseline (node -e 0)', 'ratio', 'target', 'met'], [
    ['mltoolbox config show (warm)', ms(s.show!.median), ms(base), ratio(s.show!.median, base), '<= 1.6x', s.show!.median <= 1.6 * base ? 'yes' : '**no**'],
  ]);
  const row = (name: string, key: string) => [name, ms(s[key]!.min), ms(s[key]!.median), ms(s[key]!.max), ratio(s[key]!.median, base)];
  const spread = markdownTable(['command', 'min', 'median', 'max', 'vs node -e 0'], [
    row('node -e 0 (baseline)', 'node'),
    row('mltoolbox config show (both caches warm)', 'show'),
    row('config show, config cache missed (fresh cache folder)', 'configMiss'),
    row('config show, compile cache off', 'compileOff'),
    row('mltoolbox --version (shim only)', 'version'),
  ]);
  const cpuTable = haveTime ? `\n\n${markdownTable(['CPU time (user + sys)', 'median', 'vs node -e 0'], [
    ['node -e 0', ms(s.nodeCpu!.median), '1.00x'],
    ['mltoolbox config show (warm)', ms(s.showCpu!.median), ratio(s.showCpu!.median, s.nodeCpu!.median)],
  ])}` : '';
  console.log(`## config show (${runs} runs, ${machineNote()})\n\n${target}\n\n${spread}${cpuTable}\n`);
  note(`results: ${writeResults('config', { runs, summaries: s, samples: series })}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
