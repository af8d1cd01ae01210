import { appendFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, runMltoolbox } from '../test/harness/index.ts';
import { startShadeformEmulator } from '../test/emulators/shadeform.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, writeResults } from './lib/report.ts';
import { runBenchmark, writeProjectConfig } from './lib/setup.ts';
import { stopwatch, summarize } from './lib/stats.ts';

/** The harness host is this machine: the bench instances' idle watcher files go at the end. */
async function rmIdleFiles(): Promise<void> {
  const dir = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'mltoolbox', 'idle');
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith('mlt-bench-')).map((n) => rm(join(dir, n), { force: true })));
}

/**
 * Our overhead from "instance active" to "shell in the container": `provision
 * --no-attach` against the Shadeform emulator whose instances are active at
 * once (boot 0 ms) and whose SSH endpoint is the harness sshd, vs a first
 * `connect --no-attach` of an identical project to that host (same
 * container work), each followed by its first command in the container
 * (`exec -- sh -c true`). The difference is what provisioning adds: search,
 * launch, the ledger, polls, the SSH wait and host-key pinning, arming the
 * idle watcher. The agent is installed once beforehand (both sides find it current).
 *
 *   node bench/provision.ts [--runs N]
 */
const runs = numberFlag('runs', 3);

await runBenchmark(async (harness, atEnd) => {
  const ssh = { host: harness.ssh.host, port: harness.ssh.port, user: harness.ssh.user };
  const emulator = await startShadeformEmulator({ apiKey: 'bench', ssh, bootMs: 0 });
  atEnd(() => emulator.close());
  const sandbox = await createSandbox({
    harness,
    env: { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'bench', MLTOOLBOX_SHADEFORM_URL: emulator.url, MLTOOLBOX_PROVISION_POLL_MS: '200' },
  });
  const mlt = (dir: string, args: string[], input?: string) => runMltoolbox(['-C', dir, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 300_000, ...(input !== undefined ? { input } : {}) });
  const added = await mlt(sandbox.projectDir, ['backend', 'add', 'shadeform'], 'bench');
  if (added.code !== 0) throw new Error(added.stderr);
  // Both sides find the agent current (installed once here, into the sandbox): its first upload is measured by bench/agent.ts.
  const agentDir = join(sandbox.root, 'agent-bin');
  const agentSection = `agent:\n  auto_install: true\n  install_dir: ${agentDir}\n`;
  const setupDir = join(sandbox.root, 'setup');
  await writeProjectConfig(setupDir, harness, 'bench-prov-setup');
  await appendFile(join(setupDir, 'mltoolbox.yaml'), agentSection);
  const installed = await mlt(setupDir, ['agent', 'install', harness.ssh.alias, '--json']);
  if (installed.code !== 0) throw new Error(`agent install: ${installed.stderr}`);
  atEnd(() => runMltoolbox(['-C', setupDir, 'agent', 'remove', harness.ssh.alias], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 60_000 }).then(() => undefined));
  const provisioned: number[] = [];
  const connected: number[] = [];
  const shellP: number[] = [];
  const shellC: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dirP = join(sandbox.root, `p${i}`);
    const dirC = join(sandbox.root, `c${i}`);
    for (const dir of [dirP, dirC]) {
      await writeProjectConfig(dir, harness, `bench-prov-${i}-${dir === dirP ? 'p' : 'c'}`);
      await appendFile(join(dir, 'mltoolbox.yaml'), `${agentSection}provision:\n  ssh_public_key: ${harness.ssh.identityFile}.pub\n`);
      await writeFile(join(dir, 'train.py'), 'print(1)\n');
    }
    let elapsed = stopwatch();
    const p = await mlt(dirP, ['provision', '--backend', 'shadeform', '--gpu', 'A6000', '--name', `mlt-bench-${i}`, '--yes', '--no-attach', '--json']);
    provisioned.push(elapsed());
    if (p.code !== 0) throw new Error(`provision: ${p.stderr}`);
    elapsed = stopwatch();
    if ((await mlt(dirP, ['exec', `mlt-bench-${i}`, '--', 'sh', '-c', 'true'])).code !== 0) throw new Error('exec in the provisioned container failed');
    shellP.push(elapsed());
    elapsed = stopwatch();
    const c = await mlt(dirC, ['connect', harness.ssh.alias, '--no-attach', '--json']);
    connected.push(elapsed());
    if (c.code !== 0) throw new Error(`connect: ${c.stderr}`);
    elapsed = stopwatch();
    if ((await mlt(dirC, ['exec', harness.ssh.alias, '--', 'sh', '-c', 'true'])).code !== 0) throw new Error('exec in the connected container failed');
    shellC.push(elapsed());
    await mlt(dirP, ['down', `mlt-bench-${i}`]);
    await mlt(dirC, ['down', harness.ssh.alias]);
    await mlt(dirP, ['instances', 'terminate', `mlt-bench-${i}`, '--yes']);
  }
  const pS = summarize(provisioned.map((t, i) => t + shellP[i]!));
  const cS = summarize(connected.map((t, i) => t + shellC[i]!));
  console.log(`provision overhead: instance active at once, then a real connect — ${machineNote()}\n`);
  console.log(markdownTable(['command', 'median', 'min', 'max', 'vs connect'], [
    ['provision --no-attach, then a command in the container (search, launch, wait, SSH, pin, connect, idle watcher)', ms(pS.median), ms(pS.min), ms(pS.max), ratio(pS.median, cS.median)],
    ['connect --no-attach, then a command in the container (the same container work on the same host)', ms(cS.median), ms(cS.min), ms(cS.max), '1.00x'],
  ]));
  console.log(`\nprovisioning's own overhead (median): ${ms(pS.median - cS.median)}; billable left: ${emulator.billable().length}`);
  note(`results: ${writeResults('provision', { runs, provision: pS, connect: cS, shell: { provisioned: summarize(shellP), connected: summarize(shellC) } })}`);
  await rmIdleFiles();
});
