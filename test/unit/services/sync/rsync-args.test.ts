import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFilterRules, dockerignoreToRules, resolveRules, toRsyncFilter } from '../../../../src/services/sync/filters.ts';
import { buildFetchArgs, buildPushArgs, type PushArgs } from '../../../../src/services/sync/rsync-args.ts';
import { capabilitiesOf } from '../../../../src/services/sync/rsync-version.ts';

const modern = capabilitiesOf('rsync  version 3.2.7  protocol version 31\n');
const old = capabilitiesOf('rsync  version 3.1.3  protocol version 31\n');
const remote = { rsh: "ssh -F '/a b/config'", destination: 'gpu-box' };

function push(overrides: Partial<PushArgs> = {}): string[] {
  return buildPushArgs({
    capabilities: modern, remote, dryRun: false, progress: false, ioTimeoutSeconds: 120, localDir: '/home/me/proj', remoteDir: 'projects/proj',
    filters: [], delete: true, makeRemoteDir: 'mkpath', ...overrides,
  });
}

const filtersOf = (args: string[]) => args.filter((a) => a.startsWith('--filter=')).map((a) => a.slice('--filter='.length));

describe('push argv', () => {
  it('copies contents into the remote folder, compressed, deleting during the scan (removed at the end), never excluded files', () => {
    const args = push();
    assert.deepEqual(args.slice(-2), ['/home/me/proj/', 'gpu-box:projects/proj/']);
    for (const flag of ['--compress', '--delete-delay', '--mkpath', '--stats', '--timeout=120']) assert.ok(args.includes(flag), flag);
    assert.ok(!args.includes('--delete-after'));
    assert.ok(!args.some((a) => a.startsWith('--delete-excluded')));
    assert.deepEqual(args.slice(args.indexOf('--rsh'), args.indexOf('--rsh') + 2), ['--rsh', remote.rsh]);
    assert.ok(!args.includes('--dry-run') && !args.includes('--info=progress2'));
  });

  it('a dir-merge rule (read by the receiver from its side) only ever deletes after the transfer', () => {
    const args = push({ filters: [{ kind: 'dir-merge-excludes', file: '.gitignore' }] });
    assert.ok(args.includes('--delete-after') && !args.includes('--delete-delay'));
  });

  it('dry run, progress, no deletion, no timeout', () => {
    const args = push({ dryRun: true, progress: true, delete: false, ioTimeoutSeconds: 0 });
    assert.ok(args.includes('--dry-run') && args.includes('--info=progress2'));
    assert.ok(!args.some((a) => a.startsWith('--delete') || a.startsWith('--timeout')));
  });

  it('protects args itself only when rsync is older than 3.2.4', () => {
    assert.ok(!push().includes('--protect-args'));
    assert.ok(push({ capabilities: old }).includes('--protect-args'));
  });

  it('without --mkpath, creates the folder through a quoted --rsync-path (but not in a dry run)', () => {
    const args = push({ makeRemoteDir: 'rsync-path', remoteDir: "/tmp/a 'q' $(touch x)" });
    assert.ok(args.includes(`--rsync-path=mkdir -p -- '/tmp/a '\\''q'\\'' $(touch x)' && rsync`));
    assert.ok(!args.includes('--mkpath'));
    assert.ok(!push({ makeRemoteDir: 'rsync-path', dryRun: true }).some((a) => a.startsWith('--rsync-path')));
  });

  it('orders filters: protect, include_overrides, .git, excludes (each protected), .dockerignore, .gitignore', () => {
    const rules = resolveRules({ exclude: ['data/', '*.ckpt'], includeOverrides: ['data/labels.csv', 'best.ckpt'], protect: ['outputs/', '*.pt'] });
    const args = push({ filters: buildFilterRules(rules, 'build\n!build/keep\n') });
    assert.deepEqual(filtersOf(args), [
      'P outputs/', 'P outputs/**', 'P *.pt',
      '+ data/labels.csv', '+ best.ckpt',
      '- .git',
      'P data/', '- data/', 'P *.ckpt', '- *.ckpt',
      '+ /build/keep', '- /build',
      ':- .gitignore',
    ]);
  });

  it('switches: respect_gitignore off, .dockerignore off, syncGit on', () => {
    const rules = resolveRules({ respectGitignore: false, respectDockerignore: false, syncGit: true, protect: [] });
    assert.deepEqual(buildFilterRules(rules, 'build\n').map(toRsyncFilter), []);
  });

  it('default protected folders are the usual training outputs', () => {
    const list = buildFilterRules(resolveRules(), undefined).map(toRsyncFilter);
    for (const folder of ['outputs/', 'checkpoints/', 'wandb/']) assert.ok(list.includes(`P ${folder}`) && list.includes(`P ${folder}**`), folder);
    assert.deepEqual(list.slice(-2), ['- .git', ':- .gitignore']);
  });

  it('rejects empty or multi-line patterns', () => {
    assert.throws(() => resolveRules({ exclude: [''] }), { code: 'SYNC_PATTERN_INVALID' });
    assert.throws(() => resolveRules({ includeOverrides: ['a\n+ /etc'] }), { code: 'SYNC_PATTERN_INVALID' });
  });
});

describe('.dockerignore translation', () => {
  it('anchors at the root, reverses order (last line wins in Docker, first rule in rsync), keeps **/ unanchored', () => {
    const rules = dockerignoreToRules('# comment\n\n/node_modules\n./dist/\n**/*.pyc\n*\n!src\n!README.md\n');
    assert.deepEqual(rules.map(toRsyncFilter), ['+ /README.md', '+ /src', '- /*', '- *.pyc', '- /dist', '- /node_modules']);
  });
});

describe('fetch argv', () => {
  it('never deletes, keeps newer local files, lands paths at the same place', () => {
    const args = buildFetchArgs({ capabilities: modern, remote, dryRun: false, progress: true, ioTimeoutSeconds: 120, remoteDir: 'projects/proj', paths: ['outputs', 'logs/run 1'], localDir: '/home/me/proj', exclude: ['*.tmp'] });
    assert.ok(args.includes('--update') && args.includes('--relative'));
    assert.ok(!args.some((a) => a.startsWith('--delete')));
    assert.deepEqual(args.slice(-3), ['gpu-box:projects/proj/./outputs', ':projects/proj/./logs/run 1', '/home/me/proj/']);
    assert.ok(args.includes('--filter=- *.tmp'));
  });

  it('fetches everything for "."', () => {
    const args = buildFetchArgs({ capabilities: modern, remote, dryRun: true, progress: false, ioTimeoutSeconds: 0, remoteDir: '/data/p', paths: ['.'], localDir: '/l', exclude: [] });
    assert.deepEqual(args.slice(-2), ['gpu-box:/data/p/./', '/l/']);
  });
});

describe('rsync version', () => {
  it('reads capabilities and refuses rsync before 3.1 and openrsync', () => {
    assert.deepEqual([modern.protectsArgsByDefault, modern.mkpath], [true, true]);
    assert.deepEqual([old.protectsArgsByDefault, old.mkpath], [false, false]);
    assert.equal(capabilitiesOf('rsync  version 3.2.3  protocol version 31').mkpath, true);
    assert.equal(capabilitiesOf('rsync  version v3.4.1  protocol version 32').version.text, '3.4.1');
    assert.throws(() => capabilitiesOf('rsync  version 2.6.9  protocol version 29'), { code: 'SYNC_RSYNC_TOO_OLD' });
    assert.throws(() => capabilitiesOf('openrsync: protocol version 29'), { code: 'SYNC_RSYNC_TOO_OLD' });
  });
});
