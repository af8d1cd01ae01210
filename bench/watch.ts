/**
 * `sync --watch` save-to-remote latency (target p95 < 0.3 s on loopback):
 * the watcher runs in the background; a file is saved N times with a unique
 * token, and the time until the token is in the host's copy is measured.
 * The harness host is this machine and ssh logs in as root, so the host's
 * copy (`status --json` -> remoteDir) is a local path watched directly.
 * Usage: node bench/watch.ts [--saves N] [--files N] [--gap MS]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchSandbox, cleanup, generateTree, HOST, mltOk, writeProjectConfig, runBenchmark } from './lib/setup.ts';
import { machineNote, markdownTable, ms, note, numberFlag, REPO_ROOT, writeResults } from './lib/report.ts';
import { stopwatch, summarize } from './lib/stats.ts';
import { DEFAULT_DEBOUNCE_MS } from '../src/services/sync/watch.ts';

const saves = numberFlag('saves', 20);
const files = numberFlag('files', 200);
const gapMs = numberFlag('gap', 500);
/** The watcher's default (sync.watch.debounce_ms): part of every latency by design. */
const DEBOUNCE_MS = DEFAULT_DEBOUNCE_MS;

/** Resolves when `path` holds `token` (inotify on its folder, a 20 ms poll as a fallback), or rejects after `timeoutMs`. */
function waitForToken(path: string, token: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const has = () => {
      try {
        return readFileSync(path, 'utf8') === token;
      } catch {
        return false;
      }
    };
    const done = (error?: Error) => {
      watcher.close();
      clearInterval(poll);
      clearTimeout(timeout);
      if (error) reject(error);
      else resolve();
    };
    const check = () => has() && done();
    const watcher = watch(dirname(path), check);
    const poll = setInterval(check, 20);
    const timeout = setTimeout(() => done(new Error(`the token did not reach ${path} within ${timeoutMs} ms`)), timeoutMs);
    check();
  });
}

/**
 * Two saves of the same size in one second: does the second reach the host?
 * rsync's default quick check compares sizes and whole-second mtimes.
 */
async function sameSizeProbe(local: string, remote: string): Promise<boolean | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await sleep(gapMs);
    // Start early in a second (clear of the boundary: file times use a coarser clock) so both saves can share it.
    await sleep(1100 - (Date.now() % 1000));
    // Each attempt its own size, so A always differs from what the host has.
    const a = `probe A ${'#'.repeat(attempt)}\n`;
    const b = `probe B ${'#'.repeat(attempt)}\n`;
    writeFileSync(local, a);
    const second = Math.floor(statSync(local).mtimeMs / 1000);
    await waitForToken(remote, a);
    writeFileSync(local, b);
    // Only a second save in the same second tests the case; else try again.
    if (Math.floor(statSync(local).mtimeMs / 1000) !== second) continue;
    return waitForToken(remote, b, 3000).then(() => true, () => false);
  }
  return undefined;
}

await runBenchmark(async (harness, atEnd) => {
  if (process.getuid?.() !== 0) throw new Error('run as root: the harness host logs in as root and the benchmark reads its copy directly');
  const sandbox = await benchSandbox(harness);
  const project = sandbox.projectDir;
  await writeProjectConfig(project, harness, 'bench-watch');
  await generateTree(project, files);
  const local = join(project, 'src', 'bench-token.txt');
  writeFileSync(local, 'start');

  note(`starting sync --watch on ${files} files`);
  const watcher = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'mltoolbox.js'), '-C', project, 'sync', HOST, '--watch'], {
    env: sandbox.env, cwd: project, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => watcher.once('exit', () => resolve()));
  let stderr = '';
  let remoteDir: string | undefined;
  const pushes: number[] = [];
  watcher.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const match of chunk.toString().matchAll(/synced \d+ file\(s\), \d+ deleted in (\d+) ms/g)) pushes.push(Number(match[1]));
  });
  try {
    for (let i = 0; pushes.length === 0; i++) {
      if (i > 1200 || watcher.exitCode !== null) throw new Error(`the watcher did not finish its first sync:\n${stderr}`);
      await sleep(100);
    }
    const status = JSON.parse((await mltOk(sandbox, project, ['status', HOST, '--json'])).stdout).result;
    remoteDir = status.remoteDir as string;
    const remote = join(remoteDir, 'src', 'bench-token.txt');
    if (!existsSync(remote)) throw new Error(`the host's copy is not at ${remote}: is the harness host this machine?`);

    note(`${saves} saves, ${gapMs} ms apart`);
    const latencies: number[] = [];
    const initialPushes = pushes.length;
    for (let i = 0; i < saves; i++) {
      await sleep(gapMs);
      // A new size each time: rsync's quick check (size + whole-second mtime) would skip a
      // same-size save within the second; the probe below measures that case on its own.
      const token = `save ${i} ${randomBytes(6).toString('hex')}${'.'.repeat(i + 1)}\n`;
      const elapsed = stopwatch();
      writeFileSync(local, token);
      await waitForToken(remote, token);
      latencies.push(elapsed());
    }
    // The last push's summary line follows the file by a moment.
    for (let i = 0; i < 50 && pushes.length < initialPushes + saves; i++) await sleep(20);
    const sameSecond = await sameSizeProbe(local, remote);
    const latency = summarize(latencies);
    const push = summarize(pushes.slice(initialPushes));
    const table = markdownTable(['save-to-remote', 'p50', 'p95', 'max', 'target', 'met'], [
      [`sync --watch, ${files} files, ${saves} saves`, ms(latency.median), ms(latency.p95), ms(latency.max), 'p95 < 300 ms', latency.p95 < 300 ? 'yes' : '**no**'],
    ]);
    const parts = markdownTable(['component', 'p50', 'p95', 'note'], [
      ['debounce (sync.watch.debounce_ms)', ms(DEBOUNCE_MS), ms(DEBOUNCE_MS), 'waits for quiet after the last change'],
      ['push (rsync run, from the watcher\'s own log)', ms(push.median), ms(push.p95), `${pushes.length - initialPushes} pushes for ${saves} saves`],
      ['inotify + spawn + rsync until the file lands', ms(latency.median - DEBOUNCE_MS), ms(latency.p95 - DEBOUNCE_MS), 'latency - debounce (the push goes on after the file lands: delete pass, stats)'],
    ]);
    const probe = markdownTable(['correctness probe', 'result'], [
      ['a second save of the same size within the same second reaches the host (within 3 s)', sameSecond === undefined ? 'not tested (no two saves fell in one second)' : sameSecond ? 'yes' : '**no**: the host keeps the first save'],
    ]);
    console.log(`## sync --watch (${machineNote()})\n\n${table}\n\n${parts}\n\n${probe}\n`);
    const file = writeResults('watch', { saves, files, gapMs, debounceMs: DEBOUNCE_MS, sameSizeSaveInSameSecondArrives: sameSecond, latency, push, latencies, pushes: pushes.slice(initialPushes) });
    note(`results: ${file}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nthe watcher said:\n${stderr}`);
  } finally {
    if (watcher.exitCode === null) {
      watcher.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (watcher.exitCode === null) watcher.kill('SIGKILL');
    }
    await cleanup(sandbox, project, harness.ssh.sshConfigFile, remoteDir);
  }
});
