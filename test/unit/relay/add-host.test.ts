import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { addHost, type HostShell } from '../../../src/relay/add-host.ts';
import { openRelayStore } from '../../../src/relay/admin.ts';
import { waitFor } from '../../harness/process.ts';

/** A shell on "the host" that is this machine, with its own HOME and a PATH holding a fake mlt and a systemctl without a user manager. */
function localHost(root: string): HostShell {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'mlt'), '#!/bin/sh\necho "daemon started $*" >> "$HOME/runs"\nexec sleep 30\n');
  writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\nexit 1\n');
  chmodSync(join(bin, 'mlt'), 0o755);
  chmodSync(join(bin, 'systemctl'), 0o755);
  const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: join(root, 'home') };
  mkdirSync(env.HOME, { recursive: true });
  return {
    run: (argv, input) => new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      // The supervisor keeps no pipe of ours open, so 'close' comes when the script ends.
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input);
    }),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('relay add-host (its host-side script, run by a real sh)', () => {
  it('writes the settings 0600, starts one supervised daemon, and a second run replaces it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-add-host-'));
    const shell = localHost(root);
    const store = await openRelayStore({ dataDir: join(root, 'relay') });
    const pidFile = join(root, 'home/.local/state/mltoolbox/mlt-daemon.pid');
    const pids: number[] = [];
    try {
      const first = await addHost({ store, shell, host: 'box', target: 'box', relayUrl: 'http://127.0.0.1:9', now: new Date() });
      assert.equal(first.mode, 'background');
      const settingsFile = join(root, 'home/.config/mltoolbox/relay-agent.json');
      assert.equal((await import('node:fs')).statSync(settingsFile).mode & 0o777, 0o600);
      const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as { url: string; token: string; host: string };
      assert.equal(settings.url, 'http://127.0.0.1:9');
      assert.match(settings.token, /^mltr_a_/);
      pids.push(Number(readFileSync(pidFile, 'utf8')));
      await waitFor('the daemon started', async () => existsSync(join(root, 'home/runs')), 5000);
      assert.ok(alive(pids[0]!));

      const second = await addHost({ store, shell, host: 'box', target: 'box', relayUrl: 'http://127.0.0.1:9', now: new Date() });
      assert.deepEqual(second.replacedTokens, [first.tokenId]);
      pids.push(Number(readFileSync(pidFile, 'utf8')));
      assert.notEqual(pids[1], pids[0]);
      await waitFor('the first supervisor gone', async () => !alive(pids[0]!), 5000);
      assert.ok(alive(pids[1]!));
      const live = (await store.listTokens()).filter((t) => t.revokedAt === null);
      assert.equal(live.length, 1);
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
      await store.close();
    }
  });

  it('without mlt on the host: a clear error and no token issued', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-add-host-'));
    const store = await openRelayStore({ dataDir: join(root, 'relay') });
    const shell: HostShell = { run: async () => ({ code: 0, stdout: 'mlt=\n', stderr: '' }) };
    await assert.rejects(addHost({ store, shell, host: 'box', target: 'box', relayUrl: 'http://127.0.0.1:9', now: new Date() }), /mlt is not installed on box/);
    assert.deepEqual(await store.listTokens(), []);
    await store.close();
  });

  it('a failed start revokes the token it issued', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-add-host-'));
    const store = await openRelayStore({ dataDir: join(root, 'relay') });
    let call = 0;
    const shell: HostShell = { run: async () => (++call === 1 ? { code: 0, stdout: 'mlt=/usr/local/bin/mlt\n', stderr: '' } : call === 2 ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: 'boom' }) };
    await assert.rejects(addHost({ store, shell, host: 'box', target: 'box', relayUrl: 'http://127.0.0.1:9', now: new Date() }), (e: Error & { code?: string }) => e.code === 'RELAY_DAEMON_START_FAILED');
    assert.ok((await store.listTokens()).every((t) => t.revokedAt !== null));
    await store.close();
  });
});
