/**
 * The mlt agent, on the harness's loopback sshd and Docker:
 *  - `mlt --version` of the self-contained executable vs `true` (start-up),
 *  - `ssh <editor alias> true` vs `ssh host true` over the same master
 *    connection (target <= 1.5x): what the ProxyCommand, mlt ssh-server and
 *    one exec in the container add,
 *  - agent upload bytes and time on the first connect, and on the second (0).
 * Usage: node bench/agent.ts [--runs N]
 */
import { join } from 'node:path';
import { benchSandbox, cleanup, HOST, mltOk, timedOk, writeProjectConfig, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, REPO_ROOT, writeResults } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

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

  const binary = join(REPO_ROOT, 'dist', 'agent', `mlt-linux-${process.arch}`);
  const series = async (what: string, command: string, args: string[]) => {
    note(what);
    await timedOk(command, args); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await timedOk(command, args)).ms);
    return summarize(times);
  };
  const trueRun = await series('true', 'true', []);
  const version = await series('mlt --version', binary, ['--version']);
  const generated = join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config');
  // The baseline is the alias's own ProxyCommand ssh (same options, same master) running `true` on the host.
  const { readFile } = await import('node:fs/promises');
  const entries = await readFile(join(sandbox.env.XDG_CONFIG_HOME!, 'mltoolbox', 'ssh_config.editors'), 'utf8');
  const proxy = /^\s*ProxyCommand (.+)$/m.exec(entries)![1]!.replace(/%%/g, '%');
  const hostTrue = await series('ssh host true (the same master)', 'sh', ['-c', `${proxy.slice(0, proxy.lastIndexOf(" '"))} true`]);
  const aliasTrue = await series(`ssh ${first.sshHost} true`, 'ssh', ['-F', generated, first.sshHost, 'true']);

  const rows = [
    ['`true`', ms(trueRun.median), ms(trueRun.min), ms(trueRun.max), '1.00x'],
    ['`mlt --version` (SEA)', ms(version.median), ms(version.min), ms(version.max), ratio(version.median, trueRun.median)],
    ['`ssh host true` (over a master)', ms(hostTrue.median), ms(hostTrue.min), ms(hostTrue.max), '1.00x'],
    ['`ssh <editor alias> true`', ms(aliasTrue.median), ms(aliasTrue.min), ms(aliasTrue.max), ratio(aliasTrue.median, hostTrue.median)],
  ];
  process.stdout.write(`${machineNote()}\n\n${markdownTable(['command', 'median', 'min', 'max', 'ratio'], rows)}\n\n`);
  process.stdout.write(`${markdownTable(['connect', 'agent', 'uploaded', 'time'], [
    ['first', first.agent.action, `${first.agent.bytes} B`, ms(first.agent.ms ?? 0)],
    ['second', second.agent.action, `${second.agent.bytes} B`, '—'],
  ])}\n`);
  writeResults('agent', { runs, trueRun, version, hostTrue, aliasTrue, first: first.agent, second: second.agent });
});
