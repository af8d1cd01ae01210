/**
 * Image transfer without a registry: `mltoolbox image push` of a 200 MB image
 * to a host engine that has none of it, then of a second image sharing all
 * but its last 10 MB layer (target: the second sends < 15 MB), against the
 * baseline a registry-less user has today, `docker save IMAGE | ssh HOST
 * docker load` (always the whole image), over the same ssh connection.
 * The host is the harness's sshd with a second Docker Engine (own data root).
 * Usage: node bench/image-transfer.ts [--mb 200] [--top 10]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runOk, startSecondEngine } from '../test/harness/index.ts';
import { benchSandbox, HOST, mltOk, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, ratio, REPO_ROOT, writeResults } from './lib/report.ts';

const mb = numberFlag('mb', 200);
const top = numberFlag('top', 10);
const MB = 1e6;

await runBenchmark(async (harness, atEnd) => {
  const engine = await startSecondEngine();
  atEnd(() => engine.stop());
  const sandbox = await benchSandbox(harness);
  await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), `version: 1\nenvironment:\n  base_image: ${harness.docker.baseImage}\nremote:\n  docker_socket: ${engine.socketPath}\n`);
  const id = randomBytes(3).toString('hex');
  const big = `mltoolbox-bench/transfer-big:${id}`;
  const next = `mltoolbox-bench/transfer-next:${id}`;
  atEnd(async () => void (await run('docker', ['rmi', '-f', big, next], { timeoutMs: 60_000 })));
  const build = async (tag: string, dockerfile: string) => {
    const dir = sandbox.path(`ctx-${tag.replace(/\W/g, '-')}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), dockerfile);
    await runOk('docker', ['build', '-q', '--label', 'dev.mltoolbox.test=bench', '-t', tag, dir], { timeoutMs: 600_000 });
  };
  note(`building a ${mb} MB image and one that shares all but its last ${top} MB layer`);
  // Random bytes: nothing compresses, as with real weights.
  const weights = `FROM ${harness.docker.baseImage}\nRUN head -c ${(mb - top) * MB} /dev/urandom > /weights-${id}.bin\n`;
  await build(big, `${weights}RUN head -c ${top * MB} /dev/urandom > /code.bin\n`);
  // The same first steps (the build cache reuses their layers), another last layer.
  await build(next, `${weights}RUN head -c ${top * MB} /dev/urandom > /code.bin && echo v2 > /version\n`);

  /** The --verbose lines of one run, with the time each arrived; the slowest gaps first-to-last in order. */
  const profile = (args: string[]) => new Promise<{ at: number; line: string }[]>((resolve, reject) => {
    const started = performance.now();
    const lines: { at: number; line: string }[] = [];
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'mltoolbox.js'), ...args], { cwd: sandbox.projectDir, env: sandbox.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) lines.push({ at: Math.round(performance.now() - started), line: line.trim() });
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(timer);
      lines.push({ at: Math.round(performance.now() - started), line: '(exit)' });
      // The eight lines that waited longest for their predecessor, in run order.
      const gaps = lines.map((l, i) => ({ ...l, gap: l.at - (lines[i - 1]?.at ?? 0) }));
      const slow = new Set([...gaps].sort((a, b) => b.gap - a.gap).slice(0, 8));
      resolve(gaps.filter((g) => slow.has(g)).map(({ at, line, gap }) => ({ at, line: `(+${gap} ms) ${line}` })));
    });
  });
  const push = async (tag: string) => {
    const started = performance.now();
    const result = JSON.parse((await mltOk(sandbox, sandbox.projectDir, ['image', 'push', HOST, tag, '--json'])).stdout).result as { bytesSent: number; bytesFull: number; layers: number; layersSkipped: number };
    return { ...result, ms: performance.now() - started };
  };
  note('mltoolbox image push: the first image (the host has nothing)');
  const first = await push(big);
  note('mltoolbox image push: the second image (shares the base)');
  const second = await push(next);

  note('where the time goes: the same push again (the host has every layer), and docker save alone');
  const again = await push(next);
  const steps = await profile(['image', 'push', HOST, next, '--verbose']);
  const saveStarted = performance.now();
  const saveOnly = await run('sh', ['-c', 'docker save "$1" > /dev/null', 'sh', next], { timeoutMs: 600_000 });
  const saveMs = performance.now() - saveStarted;
  if (saveOnly.code !== 0) throw new Error(`docker save failed: ${saveOnly.stderr}`);

  note('baseline: docker save | ssh HOST docker load (the whole image, every time)');
  await engine.docker(['rmi', '-f', next]);
  const started = performance.now();
  const baseline = await run('sh', ['-c', 'docker save "$1" | ssh -F "$2" "$3" "$4"', 'sh', next, harness.ssh.sshConfigFile, HOST, `docker -H unix://${engine.socketPath} load -q`], { timeoutMs: 600_000, env: sandbox.env });
  const baselineMs = performance.now() - started;
  if (baseline.code !== 0) throw new Error(`baseline failed: ${baseline.stderr}`);

  const rows = [
    [`first: ${mb} MB, host empty`, (first.bytesSent / MB).toFixed(1), `${first.layers - first.layersSkipped}/${first.layers}`, ms(first.ms), '–'],
    [`second: shares all but ${top} MB`, (second.bytesSent / MB).toFixed(1), `${second.layers - second.layersSkipped}/${second.layers}`, ms(second.ms), ratio(second.ms, baselineMs)],
    ['baseline: docker save, ssh, docker load (second)', (second.bytesFull / MB).toFixed(1), `${second.layers}/${second.layers}`, ms(baselineMs), '1.00x'],
    ['  part of both: docker save alone (to /dev/null)', '–', '–', ms(saveMs), ratio(saveMs, baselineMs)],
    ['  fixed cost: the second push again (host has it all)', (again.bytesSent / MB).toFixed(2), `${again.layers - again.layersSkipped}/${again.layers}`, ms(again.ms), ratio(again.ms, baselineMs)],
  ];
  console.log(`\nImage transfer (${machineNote()})\n`);
  console.log(markdownTable(['case', 'MB sent', 'layers sent', 'time', 'time vs baseline'], rows));
  const target = second.bytesSent < 15 * MB;
  console.log(`\nsecond image sent ${(second.bytesSent / MB).toFixed(1)} MB: ${target ? 'meets' : 'MISSES'} the target (< 15 MB)`);
  console.log('\nthe push that sends nothing, step by step (--verbose lines; the time until each):\n');
  console.log(markdownTable(['ms since start', 'step'], steps.map((s) => [String(s.at), s.line.slice(0, 110)])));
  console.log(`results: ${writeResults('image-transfer', { mb, top, first, second, again, saveMs, baselineMs, steps })}`);
  if (!target) throw new Error('the second image sent 15 MB or more');
});
