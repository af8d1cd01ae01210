/**
 * Warm `exec HOST -- true` (container running, master connection up) against
 * the same thing done by hand: `ssh -o ControlPath=<mltoolbox's socket> HOST
 * docker exec C true` over the same master (target <= 1.3x), after a
 * `connect --yes` (which installs the agent and starts its fast channel, as a
 * user's first connect does); with the same exec without the fast channel
 * (MLTOOLBOX_FAST_CHANNEL=0: a new ssh session, so the host's login shell),
 * a traced run showing where the time goes, and `--version` and `node -e 0`
 * as the start-up floors. With the fast channel, exec asks the engine's API
 * on the host through the agent (no `docker exec` CLI).
 * Usage: node bench/exec.ts [--runs N]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { agentDirOf, benchSandbox, connectWithAgent, HOST, mlt, mltOk, runBenchmark, timedOk, writeProjectConfig } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { timelineTable } from './lib/timeline.ts';
import { Tracer } from './lib/trace.ts';

const runs = numberFlag('runs', 10);
await runBenchmark(async (harness, atEnd) => {
  const sandbox = await benchSandbox(harness);
  const project = sandbox.projectDir;
  await writeProjectConfig(project, harness, 'bench-exec', { agentDir: agentDirOf(sandbox) });

  note('connect --yes: creates the container, installs the agent, starts its fast channel');
  const { result: first, viaSsh } = await connectWithAgent(sandbox, harness, atEnd);
  const container: string = first.container.name ?? first.container.id;
  const [socket] = readdirSync(sandbox.controlDir).filter((name) => !name.includes('.')); // not the fast channel's files
  if (!socket) throw new Error(`no control socket in ${sandbox.controlDir} after connect`);
  const controlPath = join(sandbox.controlDir, socket);
  const baseArgs = ['-F', harness.ssh.sshConfigFile, '-o', `ControlPath=${controlPath}`, '-o', 'ControlMaster=no', HOST, 'docker', 'exec', container, 'true'];
  await timedOk('ssh', baseArgs); // proves the baseline works and warms ssh's page cache

  const tracer = new Tracer(sandbox.path('trace'));
  tracer.reset();
  await mltOk(sandbox, project, ['exec', HOST, '--', 'true'], tracer.env(sandbox.env));
  const trace = tracer.read();

  note(`timing ${runs} runs of each, interleaved`);
  const series: Record<string, number[]> = { exec: [], execSsh: [], baseline: [], version: [], node: [] };
  for (let i = 0; i < runs; i++) {
    series.baseline!.push((await timedOk('ssh', baseArgs)).ms);
    series.exec!.push((await mltOk(sandbox, project, ['exec', HOST, '--', 'true'])).ms);
    series.execSsh!.push((await mltOk(sandbox, project, ['exec', HOST, '--', 'true'], viaSsh)).ms);
    series.version!.push((await mlt(sandbox, project, ['--version'])).ms);
    series.node!.push((await timedOk(process.execPath, ['-e', '0'])).ms);
  }
  const s = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, summarize(v)]));
  const base = s.baseline!.median;
  const target = markdownTable(['warm exec, master up', 'median', 'baseline (ssh … docker exec C true)', 'ratio', 'target', 'met'], [
    ['mltoolbox exec HOST -- true', ms(s.exec!.median), ms(base), ratio(s.exec!.median, base), '<= 1.3x', s.exec!.median <= 1.3 * base ? 'yes' : '**no**'],
  ]);
  const row = (name: string, key: string) => [name, ms(s[key]!.min), ms(s[key]!.median), ms(s[key]!.max), ratio(s[key]!.median, base)];
  const spread = markdownTable(['command', 'min', 'median', 'max', 'vs baseline'], [
    row('ssh -o ControlPath=… HOST docker exec C true (baseline)', 'baseline'),
    row('mltoolbox exec HOST -- true (fast channel)', 'exec'),
    row('mltoolbox exec HOST -- true, MLTOOLBOX_FAST_CHANNEL=0 (a new ssh session)', 'execSsh'),
    row('mltoolbox --version (start-up floor)', 'version'),
    row('node -e 0 (Node alone)', 'node'),
  ]);
  console.log(`## exec, master up (${runs} runs, ${machineNote()})\n\n${target}\n\n${spread}\n`);
  console.log(`### One traced exec (shims add ~2 ms a process; ${trace.sequentialRoundTrips} sequential round trips)\n\n${timelineTable(trace)}\n`);
  const file = writeResults('exec', { runs, container, summaries: s, samples: series, trace });
  note(`results: ${file}`);
});
