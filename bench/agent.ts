/**
 * The mlt agent, on the harness's loopback sshd and Docker:
 *  - `mlt --version` of the self-contained executable vs `true` and vs
 *    `node -e 0` (start-up: what the SEA adds to Node's own),
 *  - `ssh <editor alias> true` vs `ssh host true` over the same master
 *    connection (target <= 1.5x): what the ProxyCommand, mlt ssh-server and
 *    one exec in the container add,
 *  - the executable's size (raw, gzip as uploaded) and agent upload bytes and
 *    time on the first connect, and on the second (0).
 * Each pair runs in turn (A B A B ...) and its ratio is the median of the
 * pairs' ratios, so a machine whose load drifts still gives a fair ratio.
 * Usage: node bench/agent.ts [--runs N]
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchSandbox, cleanup, HOST, mltOk, timedOk, writeProjectConfig, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, REPO_ROOT, writeResults } from './lib/report.ts';
import { median, summarize, type Summary } from './lib/stats.ts';

const runs = numberFlag('runs', 10);
await runBenchmark(async (harness, atEnd) => {
  const sandbox = await benchSandbox(harness);
  const project = sandbox.projectDir;
  await writeProjectConfig(project, harness, 'bench-agent');
  const installDir = sandbox.path('host-bin');
  const { appendFile } = await import('node:fs/promises');
  await appendFile(join(project, 'mltoolbox.yaml'), `agent:\n  install_dir: ${installDir}\n`);

  note('first connect: installs the agent');
  const first = JSON.parse((await mltOk(sandbox, project, ['connect', HOST, '--no-attach', '--json', '--yes'])).stdout).result;
  atEnd(() => cleanup(sandbox, project, harness.ssh.sshConfigFile, first.remoteDir));
  const second = JSON.parse((await mltOk(sandbox, project, ['connect', HOST, '--no-attach', '--json', '--yes'])).stdout).result;

  type Command = [string, string[]];
  /** A and B in turn, one warm-up each; the ratio is the median of A_i / B_i. */
  const pair = async (what: string, a: Command, b: Command): Promise<{ a: Summary; b: Summary; ratio: number }> => {
    note(what);
    await timedOk(...a);
    await timedOk(...b);
    const as: number[] = [];
    const bs: number[] = [];
    for (let i = 0; i < runs; i++) {
      as.push((await timedOk(...a)).ms);
      bs.push((await timedOk(...b)).ms);
    }
    return { a: summarize(as), b: summarize(bs), ratio: median(as.map((v, i) => v / bs[i]!)) };
  };
  const binary = join(REPO_ROOT, 'dist', 'agent', `mlt-linux-${process.arch}`);
  const vsTrue = await pair('mlt --version vs true', [binary, ['--version']], ['true', []]);
  const vsNode = await pair('mlt --version vs node -e 0', [binary, ['--version']], [process.execPath, ['-e', '0']]);
  const generated = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config');
  // The baseline is the alias's own ProxyCommand ssh (same options, same master) running `true` on the host.
  const entries = await readFile(join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config.editors'), 'utf8');
  const proxy = /^\s*ProxyCommand (.+)$/m.exec(entries)![1]!.replace(/%%/g, '%');
  const alias = await pair(`ssh ${first.sshHost} true vs ssh host true (the same master)`,
    ['ssh', ['-F', generated, first.sshHost, 'true']], ['sh', ['-c', `${proxy.slice(0, proxy.lastIndexOf(" '"))} true`]]);

  const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'dist', 'agent', 'manifest.json'), 'utf8'));
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const row = (name: string, s: Summary, r: string) => [name, ms(s.median), ms(s.min), ms(s.max), r];
  process.stdout.write(`${machineNote()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${runs} pairs\n\n`);
  process.stdout.write(`${markdownTable(['command', 'median', 'min', 'max', 'ratio (median of pairs)'], [
    row('`mlt --version` (SEA)', vsTrue.a, `${vsTrue.ratio.toFixed(2)}x \`true\``),
    row('`true`', vsTrue.b, '1.00x'),
    row('`mlt --version` (SEA)', vsNode.a, `${vsNode.ratio.toFixed(2)}x \`node -e 0\``),
    row('`node -e 0`', vsNode.b, '1.00x'),
    row('`ssh <editor alias> true`', alias.a, `${alias.ratio.toFixed(2)}x \`ssh host true\``),
    row('`ssh host true` (over a master)', alias.b, '1.00x'),
  ])}\n\n`);
  process.stdout.write(`${markdownTable(['executable', 'raw', 'gzip (uploaded)'],
    Object.entries(manifest.files as Record<string, { size: number; gzSize: number }>).map(([arch, f]) => [`mlt-linux-${arch}`, mb(f.size), mb(f.gzSize)]))}\n\n`);
  process.stdout.write(`${markdownTable(['connect', 'agent', 'uploaded', 'time'], [
    ['first', first.agent.action, `${first.agent.bytes} B`, ms(first.agent.ms ?? 0)],
    ['second', second.agent.action, `${second.agent.bytes} B`, '—'],
  ])}\n`);
  writeResults('agent', { runs, loadavg: loadavg(), vsTrue, vsNode, alias, sizes: manifest.files, first: first.agent, second: second.agent });
});
