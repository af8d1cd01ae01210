import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../../../src/core/errors.ts';
import type { RemoteRecord } from '../../../../src/db/index.ts';
import { renderGeneratedConfig } from '../../../../src/orchestrators/connection/ssh-include.ts';
import { createRemotesOrchestrator } from '../../../../src/orchestrators/remotes/remotes-orchestrator.ts';
import { parseTarget } from '../../../../src/services/ssh/target.ts';

/**
 * Abuse suite: whatever a record holds (it may come from an old database or
 * a v2 import), the generated ssh_config has only the directives we mean,
 * one per line, and OpenSSH accepts the file.
 */
const ALLOWED = /^(#.*|Host [^\s"]+|  HostName [^\s"]+|  User ("[^"\n]*"|[^\s"]+)|  Port \d+|  IdentityFile ("[^"\n]*"|[^\s"]+)|  IdentitiesOnly yes|)$/;

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('/tmp/x"\n  ProxyCommand touch /tmp/pwned "', '/tmp/x"', 'a b', '${HOME}/k', '%d/key', '-oProxyCommand=x', '*', '!x', 'x\r\nHost *', '\u2028'),
);
const record = fc.record({
  alias: hostile, host: hostile,
  user: fc.option(hostile), port: fc.option(fc.integer({ min: 1, max: 65535 })), identityFile: fc.option(hostile),
}).map((r): RemoteRecord => ({ ...r, createdAt: '2024-01-01T00:00:00.000Z', lastUsedAt: null }));

const root = mkdtempSync(join(tmpdir(), 'mlt-ssh-abuse-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('generated ssh_config under hostile records', () => {
  it('writes only the directives we mean, one per line', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 6 }), (records) => {
      const text = renderGeneratedConfig(records);
      for (const line of text.split('\n')) assert.match(line, ALLOWED, `unexpected line ${JSON.stringify(line)}`);
      assert.doesNotMatch(text, /^\s*(ProxyCommand|LocalCommand|Match)\b/im);
    }), { numRuns: 3000 });
  });

  it('OpenSSH reads every generated file and never sees a ProxyCommand', () => {
    const file = join(root, 'ssh_config');
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 4 }), (records) => {
      writeFileSync(file, renderGeneratedConfig(records));
      const r = spawnSync('ssh', ['-G', '-F', file, 'probe-host'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `ssh rejected the file: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /^proxycommand /m);
    }), { numRuns: 100 });
  });

  it('remote add refuses an identity file that would break the file, and says why', () => {
    const saved: unknown[] = [];
    const remotes = createRemotesOrchestrator({
      store: { upsertRemote: (r: unknown) => (saved.push(r), { remote: r, created: true }) } as never,
      homeDir: '/home/u', cwd: '/work', fileExists: () => true,
    });
    for (const path of ['/tmp/x"\n  ProxyCommand touch /tmp/pwned "', '/tmp/x"', 'k\rey', '${HOME}/k']) {
      assert.throws(() => remotes.add({ alias: 'hx', target: 'gpu', identityFile: path }),
        (e: unknown) => e instanceof UserError && e.code === 'REMOTE_TARGET_INVALID' && /identity file/.test(e.message));
    }
    assert.equal(saved.length, 0, 'nothing refused was saved');
    remotes.add({ alias: 'ok', target: 'gpu', identityFile: '~/keys/my key %1' });
    assert.equal(saved.length, 1);
    const text = renderGeneratedConfig([{ ...(saved[0] as RemoteRecord), createdAt: '', lastUsedAt: null }]);
    assert.match(text, /^ {2}IdentityFile "\/home\/u\/keys\/my key %%1"$/m, 'spaces quoted, % escaped for ssh tokens');
  });
});

describe('targets: what remote add saves is what connect reads (one parser)', () => {
  const piece = fc.constantFrom('a', 'b', '@', ':', '.', '-', '_', '[', ']', '::1', '22', '0', ' ', '\n', '"', '%', '$', 'relhost');
  const text = fc.oneof(fc.array(piece, { maxLength: 8 }).map((p) => p.join('')), fc.string({ unit: 'binary', maxLength: 20 }));
  const remotes = createRemotesOrchestrator({
    store: { upsertRemote: (r: RemoteRecord) => ({ remote: r, created: true }) } as never,
    homeDir: '/home/u', cwd: '/work', fileExists: () => true,
  });
  it('every input is a target or REMOTE_TARGET_INVALID, the same for remote add and connect', () => {
    fc.assert(fc.property(text, (input) => {
      let target;
      try {
        target = parseTarget(input);
      } catch (error) {
        assert.ok(error instanceof UserError && error.code === 'REMOTE_TARGET_INVALID', `not a target error for ${JSON.stringify(input)}: ${String(error)}`);
        assert.throws(() => remotes.add({ alias: 'hx', target: input }), (e: unknown) => e instanceof UserError && e.message === error.message);
        return;
      }
      assert.doesNotMatch(`${target.host}${target.user ?? ''}`, /[\s"\u0000-\u001f]/, JSON.stringify(input));
      const saved = remotes.add({ alias: 'hx', target: input }).remote;
      assert.deepEqual({ host: saved.host, user: saved.user ?? undefined, port: saved.port ?? undefined }, { host: target.host, user: target.user, port: target.port }, JSON.stringify(input));
    }), { numRuns: 5000 });
    assert.throws(() => remotes.add({ alias: 'hx', target: 'a@b@relhost' }), /'a@b' is not a valid user name/);
  });
});
