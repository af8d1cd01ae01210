import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSandbox, runMltoolbox } from '../test/harness/index.ts';
import { startShadeformEmulator } from '../test/emulators/shadeform.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, writeResults } from './lib/report.ts';
import { runBenchmark, writeProjectConfig } from './lib/setup.ts';
import { stopwatch, summarize } from './lib/stats.ts';

/**
 * Our overhead from "instance active" to "container running": `provision
 * --no-attach` against the Shadeform emulator whose instances are active at
 * once (boot 0 ms) and whose SSH endpoint is the harness sshd, vs a first
 * `connect --no-attach` of an identical project to that host (same
 * container work). The difference is what provisioning adds: search,
 * launch, the ledger, polls, the SSH wait and host-key pinning, terminate.
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
  const provisioned: number[] = [];
  const connected: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dirP = join(sandbox.root, `p${i}`);
    const dirC = join(sandbox.root, `c${i}`);
    for (const dir of [dirP, dirC]) {
      await writeProjectConfig(dir, harness, `bench-prov-${i}-${dir === dirP ? 'p' : 'c'}`);
      await appendFile(join(dir, 'mltoolbox.yaml'), `provision:\n  ssh_public_key: ${harness.ssh.identityFile}.pub\n`);
      await writeFile(join(dir, 'train.py'), 'print(1)\n');
    }
    let elapsed = stopwatch();
    const p = await mlt(dirP, ['provision', '--backend', 'shadeform', '--gpu', 'A6000', '--name', `mlt-bench-${i}`, '--yes', '--no-attach', '--json']);
    provisioned.push(elapsed());
    if (p.code !== 0) throw new Error(`provision: ${p.stderr}`);
    elapsed = stopwatch();
    const c = await mlt(dirC, ['connect', harness.ssh.alias, '--no-attach', '--json']);
    connected.push(elapsed());
    if (c.code !== 0) throw new Error(`connect: ${c.stderr}`);
    await mlt(dirP, ['down', `mlt-bench-${i}`]);
    await mlt(dirC, ['down', harness.ssh.alias]);
    await mlt(dirP, ['instances', 'terminate', `mlt-bench-${i}`, '--yes']);
  }
  const pS = summarize(provisioned);
  const cS = summarize(connected);
  console.log(`provision overhead: instance active at once, then a real connect — ${machineNote()}\n`);
  console.log(markdownTable(['command', 'median', 'min', 'max', 'vs connect'], [
    ['provision --no-attach (search, launch, wait, SSH, pin, connect)', ms(pS.median), ms(pS.min), ms(pS.max), ratio(pS.median, cS.median)],
    ['connect --no-attach (the same container work on the same host)', ms(cS.median), ms(cS.min), ms(cS.max), '1.00x'],
  ]));
  console.log(`\nprovisioning's own overhead (median): ${ms(pS.median - cS.median)}; billable left: ${emulator.billable().length}`);
  note(`results: ${writeResults('provision', { runs, provision: pS, connect: cS })}`);
});
