import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { holdProcess, isCommandNotFound, runProcess } from '../../../src/infrastructure/process.ts';

const node = process.execPath;

describe('runProcess', () => {
  it('captures stdout, stderr and the exit code', async () => {
    const r = await runProcess(node, ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(3)']);
    assert.deepEqual(r, { code: 3, signal: null, stdout: 'out', stderr: 'err', timedOut: false });
  });

  it('passes arguments verbatim, never through a shell', async () => {
    const hostile = ['$(touch /tmp/pwned)', '; echo hi', "it's", 'a b', '`id`', '*'];
    const r = await runProcess(node, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...hostile]);
    assert.deepEqual(JSON.parse(r.stdout), hostile);
  });

  it('writes input to stdin and closes it', async () => {
    const r = await runProcess(node, ['-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(s.toUpperCase()))'], {
      input: 'hello\nworld',
    });
    assert.equal(r.stdout, 'HELLO\nWORLD');
  });

  it('closes stdin when there is no input (a reader does not hang)', async () => {
    const r = await runProcess(node, ['-e', 'process.stdin.resume().on("end",()=>process.stdout.write("eof"))'], { timeoutMs: 5000 });
    assert.equal(r.stdout, 'eof');
  });

  it('survives a child that exits without reading its input', async () => {
    const r = await runProcess(node, ['-e', 'process.exit(0)'], { input: 'x'.repeat(4 * 1024 * 1024) });
    assert.equal(r.code, 0);
  });

  it('kills the child on timeout and says so', async () => {
    const started = Date.now();
    const r = await runProcess(node, ['-e', 'setTimeout(()=>{}, 60000)'], { timeoutMs: 200 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.ok(Date.now() - started < 5000);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    // The time limit must outlast the child's start-up (its SIGTERM handler), even on a loaded machine.
    const r = await runProcess(node, ['-e', 'process.on("SIGTERM",()=>{}); process.stdout.write("ready"); setInterval(()=>{}, 1000)'], {
      timeoutMs: 3000,
      killGraceMs: 200,
    });
    assert.equal(r.timedOut, true);
    assert.equal(r.stdout, 'ready', 'the child was up (its handler set) when the time ran out');
    assert.equal(r.signal, 'SIGKILL');
  });

  it('rejects with the abort reason and kills the child', async () => {
    const controller = new AbortController();
    const promise = runProcess(node, ['-e', 'setTimeout(()=>{}, 60000)'], { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await assert.rejects(promise, /stop/);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await assert.rejects(runProcess(node, ['-e', ''], { signal: AbortSignal.abort(new Error('early')) }), /early/);
  });

  it('reports a missing program as command-not-found', async () => {
    const error = await runProcess('mltoolbox-no-such-program', []).catch((e: unknown) => e);
    assert.ok(isCommandNotFound(error));
    assert.ok(!isCommandNotFound(new Error('other')));
  });

  it('uses env and cwd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-proc-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runProcess(node, ['-e', 'process.stdout.write(process.cwd() + "|" + process.env.MLT_X + "|" + (process.env.HOME ?? "none"))'], {
      cwd: dir,
      env: { MLT_X: 'y' },
    });
    assert.equal(r.stdout, `${dir}|y|none`);
  });

  it('does not wait for a grandchild that keeps the pipes open', async () => {
    const script = `require("child_process").spawn(process.execPath, ["-e", "setTimeout(()=>{}, 30000)"], { stdio: "inherit", detached: true }).unref(); process.stdout.write("parent")`;
    const started = Date.now();
    const r = await runProcess(node, ['-e', script]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'parent');
    // The grandchild lives 30 s: resolving well before that means we did not wait for it (with room for a loaded machine).
    assert.ok(Date.now() - started < 20_000, 'resolved soon after the child exited');
  });

  it('bounds captured output and streams chunks to callbacks', async () => {
    let streamed = '';
    const r = await runProcess(node, ['-e', 'process.stdout.write("é".repeat(1000))'], {
      maxOutputBytes: 10,
      onStdout: (chunk) => (streamed += chunk),
    });
    assert.equal(Buffer.byteLength(r.stdout), 10);
    assert.equal(streamed, 'é'.repeat(1000));
  });
});

describe('child processes never inherit the secret store passphrase', () => {
  it('runProcess strips MLTOOLBOX_SECRET_PASSPHRASE from the child environment', async () => {
    const { runProcess } = await import('../../../src/infrastructure/process.ts');
    const result = await runProcess('sh', ['-c', 'echo "[${MLTOOLBOX_SECRET_PASSPHRASE-unset}] [$KEEP]"'], { env: { PATH: process.env.PATH, MLTOOLBOX_SECRET_PASSPHRASE: 'hunter2', KEEP: 'yes' } });
    assert.equal(result.stdout, '[unset] [yes]\n');
  });
});

describe('holdProcess', () => {
  it('runs until released: stdin closes, the program ends, release resolves after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-hold-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'ended');
    const held = holdProcess('sh', ['-c', `echo up; cat >/dev/null; echo done > '${marker}'`]);
    assert.equal(await held.ready, true, 'ready once it wrote its first output');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(existsSync(marker), false, 'still running while held');
    await held.release();
    assert.equal(readFileSync(marker, 'utf8'), 'done\n');
  });

  it('a program that ignores end of input is terminated; a missing one is nothing held', async () => {
    const started = Date.now();
    await holdProcess('sleep', ['30']).release();
    assert.ok(Date.now() - started < 10_000);
    const missing = holdProcess('mlt-no-such-program', []);
    assert.equal(await missing.ready, false);
    await missing.release();
    assert.equal(await holdProcess('true', []).ready, false, 'ended without a word: not ready');
  });

  it('keeps this process running while it is awaited to come up, and not once it is', async () => {
    const module = JSON.stringify(new URL('../../../src/infrastructure/process.ts', import.meta.url).href);
    const script = `import { holdProcess } from ${module}; const held = holdProcess('sh', ['-c', 'sleep 1; echo up; exec cat']); console.log(await held.ready);`;
    const started = Date.now();
    const result = await runProcess(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 20_000 });
    assert.equal(result.code, 0, `exit 13 would be a top-level await left waiting: ${result.stderr}`);
    assert.equal(result.stdout, 'true\n');
    assert.ok(Date.now() - started < 10_000, 'the held cat did not keep it running');
  });

  it('keeps this process running while release is awaited, even when something the program left holds its output open', async () => {
    const module = JSON.stringify(new URL('../../../src/infrastructure/process.ts', import.meta.url).href);
    // The background sleep keeps the pipe open after the program exits: release must not wait for it, nor let Node end (exit 13).
    const script = `import { holdProcess } from ${module}; const held = holdProcess('sh', ['-c', 'echo up; sleep 5 & exec cat >/dev/null']); await held.ready;`
      + 'const started = Date.now(); await held.release(); console.log(`released in ${Date.now() - started} ms`);';
    const result = await runProcess(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, `exit 13 would be a top-level await left waiting: ${result.stderr}`);
    const ms = Number(/^released in (\d+) ms\n$/.exec(result.stdout)?.[1]);
    assert.ok(ms < 4000, `released at the program's exit, not when the pipe closed 5 s later: ${result.stdout}`);
  });
});
