/**
 * Warm `connect --no-attach` (container running, nothing changed) against one
 * cold `ssh host true`, on the harness's loopback sshd and Docker:
 *  - SSH connections opened (a counting TCP relay in front of sshd; target 1),
 *  - remote round trips made one after another (ssh/rsync shims and a Docker
 *    API hook, overlapping ones counted once; target <= 3),
 *  - whole-process wall time, median of N (target <= 1.5x the cold ssh).
 * Two cases: the master connection from an earlier command is gone (the
 * usual one after 10 min idle), and it is still up.
 * Usage: node bench/connect.ts [--runs N]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchSandbox, cleanup, closeMasters, HOST, mlt, mltOk, timedOk, writeProjectConfig, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { startTcpCounter } from './lib/tcp-counter.ts';
import { timelineTable } from './lib/timeline.ts';
import { Tracer, type Trace } from './lib/trace.ts';

const runs = numberFlag('runs', 10);
await runBenchmark(async (harness, atEnd) => {
  const sandbox = await benchSandbox(harness);
  const project = sandbox.projectDir;
  await writeProjectConfig(project, harness, 'bench-connect');
  await mkdir(join(project, 'src'), { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(project, 'src', `m${i}.py`), `x = ${i}\n`);

  const counter = await startTcpCounter(harness, sandbox.path('relay'));
  const tracer = new Tracer(sandbox.path('trace'));
  const directConfig = harness.ssh.sshConfigFile;
  const countedEnv = tracer.env({ ...sandbox.env, MLTOOLBOX_SSH_CONFIG: counter.sshConfigFile, MLTOOLBOX_KNOWN_HOSTS: counter.knownHostsFile });

  note('first connect: creates the container');
  const first = JSON.parse((await mltOk(sandbox, project, ['connect', HOST, '--no-attach', '--json'])).stdout).result;
  const remoteDir: string = first.remoteDir;
  atEnd(() => cleanup(sandbox, project, harness.ssh.sshConfigFile, remoteDir));

  /** One counted, traced warm connect; masters closed first when `cold`. */
  const counted = async (cold: boolean): Promise<{ connections: number; trace: Trace; result: { container: { action: string }; sync?: { filesTransferred: number } } }> => {
    if (cold) await closeMasters(sandbox.controlDir, counter.sshConfigFile);
    tracer.reset();
    const before = counter.accepted;
    const run = await mltOk(sandbox, project, ['connect', HOST, '--no-attach', '--json'], countedEnv);
    // The relay may see the connection a moment after ssh returns; give it a tick.
    await new Promise((r) => setTimeout(r, 50));
    return { connections: counter.accepted - before, trace: tracer.read(), result: JSON.parse(run.stdout).result };
  };
  note('counting connections and round trips (traced runs)');
  await counted(true); // the relayed config's first run: known_hosts, state for this identity
  const coldCount = await counted(true);
  const warmCount = await counted(false);
  for (const c of [coldCount, warmCount]) {
    if (c.result.container.action !== 'reused' || (c.result.sync?.filesTransferred ?? 0) !== 0) {
      throw new Error(`the warm connect was not a no-op: container ${c.result.container.action}, ${c.result.sync?.filesTransferred} files sent`);
    }
  }

  note(`timing ${runs} runs of each, interleaved`);
  const baseline: number[] = [];
  const coldWall: number[] = [];
  const warmWall: number[] = [];
  const version: number[] = [];
  const sshArgs = ['-F', directConfig, '-o', 'ControlMaster=no', '-o', 'ControlPath=none', HOST, 'true'];
  await timedOk('ssh', sshArgs); // warm the page cache for ssh itself
  for (let i = 0; i < runs; i++) {
    baseline.push((await timedOk('ssh', sshArgs)).ms);
    await closeMasters(sandbox.controlDir, directConfig);
    coldWall.push((await mltOk(sandbox, project, ['connect', HOST, '--no-attach'])).ms);
    warmWall.push((await mltOk(sandbox, project, ['connect', HOST, '--no-attach'])).ms);
    version.push((await mlt(sandbox, project, ['--version'])).ms);
  }
  const b = summarize(baseline);
  const cold = summarize(coldWall);
  const warm = summarize(warmWall);
  const ver = summarize(version);

  const check = (ok: boolean) => (ok ? 'yes' : '**no**');
  const targets = markdownTable(['warm connect --no-attach', 'measured', 'baseline', 'ratio', 'target', 'met'], [
    ['SSH connections opened, no master up', coldCount.connections, '', '', '<= 1', check(coldCount.connections <= 1)],
    ['SSH connections opened, master up', warmCount.connections, '', '', '<= 1', check(warmCount.connections <= 1)],
    ['sequential round trips, no master up', coldCount.trace.sequentialRoundTrips, '', '', '<= 3', check(coldCount.trace.sequentialRoundTrips <= 3)],
    ['sequential round trips, master up', warmCount.trace.sequentialRoundTrips, '', '', '<= 3', check(warmCount.trace.sequentialRoundTrips <= 3)],
    ['wall median, no master up', ms(cold.median), `${ms(b.median)} cold ssh true`, ratio(cold.median, b.median), '<= 1.5x', check(cold.median <= 1.5 * b.median)],
    ['wall median, master up', ms(warm.median), `${ms(b.median)} cold ssh true`, ratio(warm.median, b.median), '<= 1.5x', check(warm.median <= 1.5 * b.median)],
  ]);
  const spread = markdownTable(['command', 'min', 'median', 'p95', 'max'], [
    ['ssh -o ControlMaster=no host true', ms(b.min), ms(b.median), ms(b.p95), ms(b.max)],
    ['connect --no-attach, no master up', ms(cold.min), ms(cold.median), ms(cold.p95), ms(cold.max)],
    ['connect --no-attach, master up', ms(warm.min), ms(warm.median), ms(warm.p95), ms(warm.max)],
    ['mltoolbox --version (start-up floor)', ms(ver.min), ms(ver.median), ms(ver.p95), ms(ver.max)],
  ]);
  const kinds = (t: Trace) => t.networkEvents.map((e) => e.label).join('; ');
  console.log(`## connect (${runs} runs, ${machineNote()})\n\n${targets}\n\n${spread}\n`);
  console.log(`### Where the time goes: one traced run, no master up (shims add ~2 ms a process)\n\n${timelineTable(coldCount.trace)}\n`);
  console.log(`### One traced run, master up\n\n${timelineTable(warmCount.trace)}\n`);
  const file = writeResults('connect', {
    runs,
    baseline: b, coldConnect: cold, warmConnect: warm, version: ver,
    noMaster: { connections: coldCount.connections, sequentialRoundTrips: coldCount.trace.sequentialRoundTrips, network: kinds(coldCount.trace), trace: coldCount.trace },
    masterUp: { connections: warmCount.connections, sequentialRoundTrips: warmCount.trace.sequentialRoundTrips, network: kinds(warmCount.trace), trace: warmCount.trace },
  });
  note(`results: ${file}`);

  await closeMasters(sandbox.controlDir, counter.sshConfigFile);
  await counter.close();
});
