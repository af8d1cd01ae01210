/**
 * Dev Container Features: `connect --no-attach` of a project with three
 * features (two from an OCI registry on 127.0.0.1, one local folder) on the
 * Debian test image, against the same project without features:
 *  - the first connect (fetch, build the feature layers, create),
 *  - the cached connect (lockfile + client cache + image by content hash;
 *    target: within 1.1x the connect without features), with the container
 *    running, and after `down` (image reused, container created again).
 * Usage: node bench/features.ts [--runs N]
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDebianImage, startTestRegistry } from '../test/harness/index.ts';
import { benchSandbox, cleanup, HOST, mltOk, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

const runs = numberFlag('runs', 5);

/** A feature folder whose install.sh does a little real work (writes a file, as most do). */
async function feature(folder: string, id: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'devcontainer-feature.json'), JSON.stringify({ id, version: '1.0.0', options: { level: { type: 'string', default: 'full' } }, containerEnv: { [`${id.toUpperCase().replace(/-/g, '_')}_HOME`]: `/opt/${id}` } }));
  await writeFile(join(folder, 'install.sh'), `#!/bin/sh\nset -eu\nmkdir -p /opt/${id}\necho "$LEVEL" > /opt/${id}/level\n`, { mode: 0o755 });
  return folder;
}

await runBenchmark(async (harness, atEnd) => {
  const debian = (await ensureDebianImage()).tag;
  const registry = await startTestRegistry();
  atEnd(() => registry.close());
  const sandbox = await benchSandbox(harness);
  const staging = sandbox.path('features');
  await registry.pushFeature('bench/features/tool-a', await feature(join(staging, 'tool-a'), 'tool-a'), ['1']);
  await registry.pushFeature('bench/features/tool-b', await feature(join(staging, 'tool-b'), 'tool-b'), ['1']);

  const withFeatures = sandbox.path('with-features');
  const without = sandbox.path('without-features');
  await mkdir(join(withFeatures, '.devcontainer'), { recursive: true });
  await cp(await feature(join(staging, 'tool-c'), 'tool-c'), join(withFeatures, '.devcontainer', 'tool-c'), { recursive: true });
  await writeFile(join(withFeatures, '.devcontainer', 'devcontainer.json'), JSON.stringify({
    name: 'bench-features',
    image: debian,
    features: { [`${registry.host}/bench/features/tool-a:1`]: {}, [`${registry.host}/bench/features/tool-b:1`]: { level: 'min' }, './tool-c': {} },
  }, null, 2));
  await mkdir(join(without, '.devcontainer'), { recursive: true });
  await writeFile(join(without, '.devcontainer', 'devcontainer.json'), JSON.stringify({ name: 'bench-plain', image: debian }, null, 2));

  const connect = (project: string) => mltOk(sandbox, project, ['connect', HOST, '--no-attach', '--json']);
  const down = (project: string) => mltOk(sandbox, project, ['down', HOST]);

  note('first connect with features: fetch, build, create');
  const first = await connect(withFeatures);
  const firstResult = JSON.parse(first.stdout).result;
  if (firstResult.imageAction !== 'built' || firstResult.features?.length !== 3) throw new Error(`the first connect did not build three features: ${first.stdout}`);
  atEnd(() => cleanup(sandbox, withFeatures, harness.ssh.sshConfigFile, firstResult.remoteDir));
  const plainFirst = JSON.parse((await connect(without)).stdout).result;
  atEnd(() => cleanup(sandbox, without, harness.ssh.sshConfigFile, plainFirst.remoteDir));
  const requestsAfterFirst = registry.requests.length;

  note(`timing ${runs} warm connects of each (container running), interleaved`);
  const warmFeatures: number[] = [];
  const warmPlain: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = await connect(withFeatures);
    if (JSON.parse(a.stdout).result.imageAction !== 'reused-build') throw new Error(`the cached connect built something: ${a.stdout}`);
    warmFeatures.push(a.ms);
    warmPlain.push((await connect(without)).ms);
  }
  note(`timing ${runs} connects of each after down (image cached, container created)`);
  const recreateFeatures: number[] = [];
  const recreatePlain: number[] = [];
  for (let i = 0; i < runs; i++) {
    await down(withFeatures);
    recreateFeatures.push((await connect(withFeatures)).ms);
    await down(without);
    recreatePlain.push((await connect(without)).ms);
  }
  const fetchedAgain = registry.requests.length - requestsAfterFirst;

  const wf = summarize(warmFeatures);
  const wp = summarize(warmPlain);
  const rf = summarize(recreateFeatures);
  const rp = summarize(recreatePlain);
  const check = (ok: boolean) => (ok ? 'yes' : '**no**');
  const targets = markdownTable(['connect --no-attach, three features', 'measured', 'baseline (no features)', 'ratio', 'target', 'met'], [
    ['first connect (fetch + build + create)', ms(first.ms), '', '', '', ''],
    ['cached, container running (median)', ms(wf.median), ms(wp.median), ratio(wf.median, wp.median), '<= 1.1x', check(wf.median <= 1.1 * wp.median)],
    ['cached, container created again (median)', ms(rf.median), ms(rp.median), ratio(rf.median, rp.median), '<= 1.1x', check(rf.median <= 1.1 * rp.median)],
    ['registry requests after the first connect', fetchedAgain, '', '', '0', check(fetchedAgain === 0)],
  ]);
  const spread = markdownTable(['command', 'min', 'median', 'p95', 'max'], [
    ['features, container running', ms(wf.min), ms(wf.median), ms(wf.p95), ms(wf.max)],
    ['no features, container running', ms(wp.min), ms(wp.median), ms(wp.p95), ms(wp.max)],
    ['features, after down', ms(rf.min), ms(rf.median), ms(rf.p95), ms(rf.max)],
    ['no features, after down', ms(rp.min), ms(rp.median), ms(rp.p95), ms(rp.max)],
  ]);
  console.log(`## features (${runs} runs, ${machineNote()})\n\n${targets}\n\n${spread}\n`);
  note(`results: ${writeResults('features', { runs, first: first.ms, warmFeatures: wf, warmPlain: wp, recreateFeatures: rf, recreatePlain: rp, fetchedAgain })}`);
});
