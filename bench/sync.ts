/**
 * No-op `sync` of a 10,000-file project against raw `rsync -az` of the same
 * tree over the same multiplexed connection (target <= 1.2x), after a
 * `connect` (which installs the agent and starts its fast channel, as a user's
 * first connect does): the sync compares both machines' digests of what the
 * last push listed and does not run rsync. With where the difference goes:
 * the same sync with that record removed (so rsync runs), the same sync without
 * the fast channel (MLTOOLBOX_FAST_CHANNEL=0: a new ssh session, so the
 * host's login shell and its start-up files), `ssh HOST true` over the
 * master (that shell's cost alone), Node start-up (`--version`), loading the
 * configuration (`config show`), opening the project's session (`status`),
 * mltoolbox's own rsync command line replayed without mltoolbox around it,
 * and the sync with the rsync version cache emptied first.
 * Usage: node bench/sync.ts [--runs N] [--files N]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentDirOf, benchSandbox, connectWithAgent, HOST, mltOk, timedOk, writeProjectConfig, generateTree, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { timelineTable, timeByKind } from './lib/timeline.ts';
import { Tracer } from './lib/trace.ts';

const runs = numberFlag('runs', 10);
const files = numberFlag('files', 10_000);
await runBenchmark(async (harness, atEnd) => {
  const sandbox = await benchSandbox(harness);
  const project = sandbox.projectDir;
  await writeProjectConfig(project, harness, 'bench-sync', { agentDir: agentDirOf(sandbox) });
  note(`generating ${files} files`);
  await generateTree(project, files);

  note('connect --yes: copies the tree, installs the agent, starts its fast channel');
  const { result: first, viaSsh } = await connectWithAgent(sandbox, harness, atEnd);
  const remoteDir: string = first.remoteDir;
  if (first.sync.filesTransferred < files) throw new Error(`the first sync sent ${first.sync.filesTransferred} files, expected ${files}+`);

  // mltoolbox's exact rsync argv (and so its --rsh: the same ssh options and ControlPath).
  const tracer = new Tracer(sandbox.path('trace'));
  // Once untimed: the tracer's rsync shim is a new binary to the rsync version cache; the traced run is then a warm one.
  await mltOk(sandbox, project, ['sync', HOST], tracer.env(viaSsh));
  tracer.reset();
  const traced = JSON.parse((await mltOk(sandbox, project, ['sync', HOST, '--json'], tracer.env(viaSsh))).stdout).result;
  const trace = tracer.read();
  const argv = tracer.rsyncArgvs().find((a) => !a.includes('--version'));
  if (!argv) throw new Error('no rsync run was traced');
  if (traced.summary.filesTransferred !== 0) throw new Error(`the second sync was not a no-op: ${traced.summary.filesTransferred} files sent`);
  const rsh = argv[argv.indexOf('--rsh') + 1]!;
  const raw = ['-az', '-e', rsh, `${project}/`, `${HOST}:${remoteDir}/`];
  const itemized = await timedOk('rsync', ['-i', ...raw], { env: sandbox.env });
  const rawChanges = itemized.stdout.split('\n').filter((l) => l && !l.startsWith('.d..t')).length;
  if (rawChanges > 0) throw new Error(`raw rsync was not a no-op (${rawChanges} changes):\n${itemized.stdout.slice(0, 500)}`);

  note(`timing ${runs} runs of each, interleaved`);
  // The lever of the rsync version cache: the same sync with its entry removed first (so it runs `rsync --version`).
  const versionCache = join(sandbox.env.XDG_CACHE_HOME!, 'mltoolbox', 'rsync-version.json');
  // The syncs above went by ssh (each drops the push record): this one runs rsync through the channel and records what it listed.
  await mltOk(sandbox, project, ['sync', HOST]);
  const fast = JSON.parse((await mltOk(sandbox, project, ['sync', HOST, '--json'])).stdout).result.summary;
  if (fast.channel !== 'fast' || fast.filesTransferred !== 0) throw new Error(`the timed sync is not a no-op through the fast channel: ${JSON.stringify(fast)}`);
  if (fast.unchanged !== true) throw new Error(`the timed sync ran rsync: both digests should have matched after the last push (${JSON.stringify(fast)})`);
  // The same sync with its push record removed first: rsync runs (and lists every path for the next record).
  const pushRecords = join(sandbox.env.XDG_CACHE_HOME!, 'mltoolbox', 'pushes');
  // The same ssh command line rsync runs (mltoolbox's options, the same master), with `true` for a command.
  const sshTrue = ['sh', '-c', `${rsh} ${HOST} true`];
  const series: Record<string, number[]> = { sync: [], syncRsync: [], syncSsh: [], sshTrue: [], syncVersionAsked: [], rawRsync: [], mltRsyncArgs: [], version: [], node: [], configShow: [], status: [] };
  for (let i = 0; i < runs; i++) {
    series.sync!.push((await mltOk(sandbox, project, ['sync', HOST])).ms);
    rmSync(versionCache, { force: true });
    series.syncVersionAsked!.push((await mltOk(sandbox, project, ['sync', HOST])).ms);
    series.sshTrue!.push((await timedOk(sshTrue[0]!, sshTrue.slice(1), { env: sandbox.env })).ms);
    series.rawRsync!.push((await timedOk('rsync', raw, { env: sandbox.env })).ms);
    series.mltRsyncArgs!.push((await timedOk('rsync', argv, { env: sandbox.env })).ms);
    rmSync(pushRecords, { recursive: true, force: true });
    series.syncRsync!.push((await mltOk(sandbox, project, ['sync', HOST])).ms);
    series.syncSsh!.push((await mltOk(sandbox, project, ['sync', HOST], viaSsh)).ms);
    await mltOk(sandbox, project, ['sync', HOST]); // untimed: the ssh push dropped the record; this one makes it again
    series.version!.push((await mltOk(sandbox, project, ['--version'])).ms);
    series.node!.push((await timedOk(process.execPath, ['-e', '0'])).ms);
    series.configShow!.push((await mltOk(sandbox, project, ['config', 'show'])).ms);
    series.status!.push((await mltOk(sandbox, project, ['status', HOST, '--json'])).ms);
  }
  const s = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, summarize(v)]));
  const base = s.rawRsync!.median;
  const row = (name: string, key: string) => [name, ms(s[key]!.min), ms(s[key]!.median), ms(s[key]!.max), ratio(s[key]!.median, base)];
  const target = markdownTable(['no-op sync, whole process', 'median', 'baseline (rsync -az)', 'ratio', 'target', 'met'], [
    [`mltoolbox sync (${files} files)`, ms(s.sync!.median), ms(base), ratio(s.sync!.median, base), '<= 1.2x', s.sync!.median <= 1.2 * base ? 'yes' : '**no**'],
  ]);
  const components = markdownTable(['command', 'min', 'median', 'max', 'vs rsync -az'], [
    row('rsync -az (baseline, same master)', 'rawRsync'),
    row('mltoolbox sync (fast channel; both digests equal, rsync not run)', 'sync'),
    row('mltoolbox sync, push record removed first (fast channel, rsync runs)', 'syncRsync'),
    row('mltoolbox sync, MLTOOLBOX_FAST_CHANNEL=0 (a new ssh session)', 'syncSsh'),
    row("ssh HOST true, same master (the host's login shell and its start-up files)", 'sshTrue'),
    row('mltoolbox sync, rsync version cache emptied first', 'syncVersionAsked'),
    row("rsync with mltoolbox's argv (filters, --delete-delay, --stats)", 'mltRsyncArgs'),
    row('mltoolbox --version (Node + CLI start-up)', 'version'),
    row('node -e 0 (Node alone)', 'node'),
    row('mltoolbox config show (+ configuration)', 'configShow'),
    row('mltoolbox status (+ state, ssh check, Docker socket forward)', 'status'),
  ]);
  console.log(`## sync, no-op, ${files} files (${runs} runs, ${machineNote()})\n\n${target}\n\n${components}\n`);
  console.log(`### One traced no-op sync (shims add ~2 ms a process)\n\n${timelineTable(trace)}\n`);
  const file = writeResults('sync', { runs, files, remoteDir, rsyncArgv: argv, summaries: s, samples: series, trace, timeByKind: timeByKind(trace) });
  note(`results: ${file}`);
});
