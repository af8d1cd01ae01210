import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decideAgent, installAgent, parseProbe, type AgentManifest } from '../../../../src/orchestrators/agent/agent-installer.ts';
import { createLocalHost } from '../../../../src/services/host/local-host.ts';
import { editorAlias, proxyCommand, renderEditorEntry, withEntry, withPinnedKey, writeEditorHost } from '../../../../src/orchestrators/agent/editor-host.ts';
import { withEditorsInclude } from '../../../../src/orchestrators/connection/ssh-include.ts';
import { UserError } from '../../../../src/core/errors.ts';
import { statsFrom } from '../../../../src/services/containers/docker-manager.ts';
import type { Host } from '../../../../src/services/host/types.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINvsHEsAQeIhvJ2HjSGMph/plTiNB+Vd5uvoSAf3vnnZ';

describe('editor ssh entries', () => {
  it('an alias is always one safe ssh_config word, and different names stay different', () => {
    assert.equal(editorAlias('model-3f2a9c1d', 'gpu-box'), 'model-3f2a9c1d.gpu-box.mlt');
    assert.equal(editorAlias('model-3f2a9c1d', 'gpu.example.com'), 'model-3f2a9c1d.gpu.example.com.mlt');
    assert.match(editorAlias('model-3f2a9c1d', 'alice@10.0.0.5:2222'), /^model-3f2a9c1d\.alice-10-0-0-5-2222-700235\.mlt$/);
    const hostile = ['gpu\nProxyCommand evil', 'a b', 'host*', '!neg', 'a,b', '"q"', '%h', '[::1]:22', 'ümlaut', '..', '-x', '', '\0', 'x'.repeat(300), '日本', 'host.', 'a..b'];
    const aliases = hostile.map((name) => editorAlias('p-1', name));
    for (const alias of aliases) {
      assert.match(alias, /^[A-Za-z0-9][A-Za-z0-9._-]*\.mlt$/, alias);
      assert.ok(alias.length < 140, alias);
      assert.doesNotMatch(alias, /\.\./);
    }
    assert.equal(new Set(aliases).size, hostile.length, 'no two names share an alias');
    assert.equal(editorAlias('p-1', 'a b'), editorAlias('p-1', 'a b'), 'the same name, the same alias');
    assert.notEqual(editorAlias('p-1', 'a b'), editorAlias('p-1', 'a_b'));
  });

  it('the ProxyCommand quotes every word for sh, doubles % and never holds a line break', () => {
    const command = proxyCommand(['-o', 'ControlPath=/run/ssh/%C', '--', 'gpu box'], "/home/a b/.local/bin/mlt", 'mlt-model-1');
    assert.equal(command, "ssh -o ControlPath=/run/ssh/%%C -- 'gpu box' ''\\''/home/a b/.local/bin/mlt'\\'' --project mlt-model-1 ssh-server'");
    assert.throws(() => proxyCommand(['--', 'gpu\nHost *'], '/mlt', 'c'), UserError);
    const entry = renderEditorEntry('a.b.mlt', '/home/u/.config/mltoolbox/known_hosts', command);
    assert.match(entry, /^  StrictHostKeyChecking yes$/m);
    assert.match(entry, /^  UserKnownHostsFile "\/home\/u\/\.config\/mltoolbox\/known_hosts"$/m);
    assert.throws(() => renderEditorEntry('a.b.mlt', '/home/"x"/known_hosts', command), UserError);
  });

  it('one block per alias, others kept; one pinned key per alias', () => {
    const one = withEntry('', 'b.h.mlt', 'Host b.h.mlt\n  HostKeyAlias b.h.mlt');
    const two = withEntry(one, 'a.h.mlt', 'Host a.h.mlt\n  HostKeyAlias a.h.mlt');
    const again = withEntry(two, 'b.h.mlt', 'Host b.h.mlt\n  HostKeyAlias b.h.mlt\n  Port 2');
    assert.equal(again.match(/^Host /gm)?.length, 2);
    assert.match(again, /Port 2/);
    const pinned = withPinnedKey(withPinnedKey('other.mlt ssh-ed25519 AAAA\n', 'a.h.mlt', KEY), 'a.h.mlt', KEY);
    assert.equal(pinned, `other.mlt ssh-ed25519 AAAA\na.h.mlt ${KEY}\n`);
    assert.throws(() => withPinnedKey('', 'a.h.mlt', 'ssh-ed25519 AAA\nevil'), UserError);
  });

  it('the generated ssh_config Includes the editors file once, before any Host', () => {
    const text = withEditorsInclude('# header\n\nHost gpu\n  HostName x\n', '/c/mltoolbox/ssh_config');
    assert.equal(text, '# header\nInclude "/c/mltoolbox/ssh_config.editors"\n\nHost gpu\n  HostName x\n');
    assert.equal(withEditorsInclude(text, '/c/mltoolbox/ssh_config'), text);
  });
});

describe('editor ssh entries: concurrent connects', () => {
  it('connects of 12 projects at once keep every Host entry and every pinned key (one lock around read, change, write)', async () => {
    const configDir = await mkdtemp(join(tmpdir(), 'mlt-editors-'));
    try {
      // The host answers at once: every writer reads the files at the same moment.
      const host = { name: 'gpu-box', sshArgs: ['--', 'gpu-box'], exec: async () => ({ exitCode: 0, stdout: `${KEY}\n`, stderr: '' }) } as unknown as Host;
      const slugs = Array.from({ length: 12 }, (_, i) => `p${i}-0123abcd`);
      const aliases = await Promise.all(slugs.map((slug) => writeEditorHost({ configDir, host, slug, container: `mlt-${slug}`, mltPath: '/mlt' })));
      const entries = await readFile(join(configDir, 'ssh_config.editors'), 'utf8');
      const knownHosts = await readFile(join(configDir, 'known_hosts'), 'utf8');
      for (const alias of aliases) {
        assert.match(entries, new RegExp(`^Host ${alias!.replace(/\./g, '\\.')}$`, 'm'));
        assert.ok(knownHosts.split('\n').includes(`${alias} ${KEY}`), `no key for ${alias}`);
      }
      assert.deepEqual((await readdir(configDir)).filter((n) => /\.(lock|tmp)$/.test(n)), [], 'no lock or temp file left');
    } finally {
      await rm(configDir, { recursive: true, force: true });
    }
  });
});

describe('agent install decision', () => {
  const manifest: AgentManifest = { version: '0.3.0', build: 'abc', node: '24', files: { x64: { size: 1, sha256: 'x', gzSize: 1 } } };
  const probe = (installed?: string, system = 'Linux x86_64') =>
    parseProbe(`noise from .bashrc\nmlt-probe:system=${system}\nmlt-probe:uid=1000\nmlt-probe:path=/home/u/.local/bin/mlt\n${installed ? `mlt-probe:installed=${installed}\n` : ''}`);
  it('install, current, upgrade, newer on host, unsupported', () => {
    assert.equal(decideAgent(manifest, probe()).action, 'install');
    assert.equal(decideAgent(manifest, probe('0.3.0 (build abc)')).action, 'current');
    assert.equal(decideAgent(manifest, probe('0.3.0 (build old)')).action, 'upgrade');
    assert.equal(decideAgent(manifest, probe('0.2.9 (build x)')).action, 'upgrade');
    assert.equal(decideAgent(manifest, probe('0.10.0 (build x)')).action, 'newer-on-host');
    assert.equal(decideAgent(manifest, probe(undefined, 'Linux aarch64')).action, 'unsupported', 'no arm64 build in this manifest');
    assert.equal(decideAgent(manifest, probe(undefined, 'Darwin arm64')).action, 'unsupported');
    assert.equal(probe().path, '/home/u/.local/bin/mlt');
  });
});

describe('agent install on the host (the real install script, run by sh here)', () => {
  it('a file whose sha256 is not the manifest\'s replaces nothing; a good one replaces the old mlt by rename, leaving no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlt-install-'));
    try {
      const executable = Buffer.from('#!/bin/sh\necho "0.3.0 (build new)"\n');
      await writeFile(join(dir, 'mlt-linux-x64.gz'), gzipSync(executable));
      const bin = join(dir, 'bin');
      const target = join(bin, 'mlt');
      const remote = { system: 'Linux x86_64', arch: 'x64' as const, root: false, path: target, installed: '0.2.0 (build old)' };
      const host = createLocalHost({ env: process.env });
      const manifest = (sha256: string): AgentManifest => ({ version: '0.3.0', build: 'new', node: '24', files: { x64: { size: executable.length, sha256, gzSize: 1 } } });
      await mkdir(bin);
      await writeFile(target, '#!/bin/sh\necho "0.2.0 (build old)"\n', { mode: 0o755 });

      await assert.rejects(installAgent(host, { dir, manifest: manifest('0'.repeat(64)) }, remote),
        (e: UserError) => e.code === 'AGENT_INSTALL_FAILED' && /sha256 is [0-9a-f]{64}, expected 0{64}/.test(e.message) && /nothing was replaced/.test(e.hint));
      assert.equal(await readFile(target, 'utf8'), '#!/bin/sh\necho "0.2.0 (build old)"\n', 'the old mlt is untouched');
      assert.deepEqual(await readdir(bin), ['mlt'], 'the temporary file went');

      const done = await installAgent(host, { dir, manifest: manifest(createHash('sha256').update(executable).digest('hex')) }, remote);
      assert.deepEqual([done.path, done.version, done.bytes], [target, '0.3.0 (build new)', gzipSync(executable).length]);
      assert.ok((await readFile(target)).equals(executable));
      assert.deepEqual(await readdir(bin), ['mlt']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('container stats', () => {
  it('CPU and memory as docker stats counts them', () => {
    assert.deepEqual(statsFrom({
      cpu_stats: { cpu_usage: { total_usage: 300 }, system_cpu_usage: 2000, online_cpus: 4 },
      precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 1000 },
      memory_stats: { usage: 5000, limit: 10000, stats: { inactive_file: 1000 } },
    }), { cpuPercent: 80, memoryBytes: 4000, memoryLimitBytes: 10000 });
    assert.equal(statsFrom({ cpu_stats: {}, precpu_stats: {} }).cpuPercent, null);
  });
});
