import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commands } from '../../../../src/cli/commands/index.ts';
import { rewriteLegacy, type LegacyOutcome } from '../../../../src/cli/legacy/rewrite.ts';
import type { RemoteDirectory, SavedRemote } from '../../../../src/cli/legacy/remotes.ts';
import { isUserError } from '../../../../src/core/errors.ts';
import { parseCommandLine } from '../../../../src/cli/parse-argv.ts';

const saved: SavedRemote[] = [
  { alias: 'gpu-box', host: 'gpu.example.com', user: 'alice', port: null, identityFile: '/keys/gpu' },
  { alias: 'lab', host: '10.0.0.5', user: null, port: 2222, identityFile: null },
];

function directory(remotes: SavedRemote[] = saved) {
  const added: { alias: string; target: string; identityFile?: string }[] = [];
  const dir: RemoteDirectory = {
    list: async () => remotes,
    save: async (alias, target, identityFile) => void added.push({ alias, target, ...(identityFile ? { identityFile } : {}) }),
  };
  return { dir, added };
}

async function rewrite(line: string, remotes?: SavedRemote[]): Promise<LegacyOutcome | undefined> {
  return rewriteLegacy(line.split(' ').filter(Boolean), { commands, remotes: directory(remotes).dir, cwd: '/home/me/proj' });
}

async function mapped(line: string): Promise<LegacyOutcome> {
  const outcome = await rewrite(line);
  assert.ok(outcome, `${line} should be rewritten`);
  // Every rewrite must be a valid v3 command line.
  const parsed = parseCommandLine(outcome.argv, commands);
  assert.ok(parsed.command, `${outcome.argv.join(' ')} names no v3 command`);
  return outcome;
}

async function usageError(line: string): Promise<string> {
  try {
    await rewrite(line);
  } catch (error) {
    assert.ok(isUserError(error));
    assert.equal(error.code, 'USAGE');
    return `${error.message} | ${error.hint}`;
  }
  assert.fail(`${line} should fail`);
}

describe('v2 command lines -> v3', () => {
  const table: [string, string][] = [
    ['remote connect gpu-box', 'connect gpu-box'],
    ['remote connect gpu.example.com', 'connect gpu-box'],
    ['remote connect alice@gpu.example.com', 'connect gpu-box'],
    ['remote connect gpu', 'connect gpu-box'],
    ['remote connect other.host', 'connect other.host'],
    ['remote connect other.host --username bob -P 2200', 'connect bob@other.host:2200'],
    ['remote connect lab --username bob', 'connect bob@10.0.0.5:2222'],
    ['remote connect lab -P 22', 'connect 10.0.0.5:22'],
    ['remote connect h --force-rebuild --skip-sync -p 8888:8888 --forward-ports 6006:6006', 'connect h --force-rebuild --skip-sync -p 8888:8888 -p 6006:6006'],
    ['remote connect h --host-ray-dashboard-port 9265', 'connect h -p 9265:8265'],
    ['--debug remote connect h', '--verbose connect h'],
    ['remote connect h --json -v', '--json --verbose connect h'],
    ['-C /p remote connect h', '--project-dir /p connect h'],
    ['remote list-remotes', 'remote list'],
    ['remote list-remotes --json', '--json remote list'],
    ['remote remove gpu.example.com', 'remote remove gpu-box'],
    ['remote remove unknown', 'remote remove unknown'],
    ['remote sync lab', 'sync lab'],
    ['remote sync lab --dryrun', 'sync lab --dry-run'],
    ['remote sync other -P 2200', 'sync other:2200'],
    ['remote fetch gpu-box outputs/', 'fetch gpu-box outputs/'],
    ['remote fetch gpu-box outputs/ -l results', 'fetch gpu-box outputs/ results'],
    ['remote attach 10.0.0.5', 'shell lab'],
    ['remote attach h -P 2201', 'shell h:2201'],
    ['remote datasync up -r gdrive:data -l data', 'datasync up --local-dir data --remote gdrive:data'],
    ['remote datasync down gpu-box -r gdrive:data --mode container --container-name c1', 'datasync down gpu-box --remote gdrive:data --mode container --container-name c1'],
    ['remote datasync up h --username bob -P 2200 -r s3:b -p proj --transfers 8 --checkers 16 --chunk-size 64M --cutoff 250M -e a,b -e c --dry-run',
      'datasync up bob@h:2200 --remote s3:b --project proj --transfers 8 --checkers 16 --chunk-size 64M --cutoff 250M --exclude a,b --exclude c --dry-run'],
    ['remote datasync up -r s3:b --dryrun -q', '--quiet datasync up --remote s3:b --dry-run'],
    ['init --ray --python-version 3.11.4 --variant gh200 --force', 'init --force'],
    ['init --no-ray', 'init'],
  ];
  for (const [v2, v3] of table) {
    it(`${v2}  ->  ${v3}`, async () => {
      const outcome = await mapped(v2);
      assert.equal(outcome.argv.join(' '), v3);
    });
  }

  it('names the new command in one deprecation line', async () => {
    assert.equal((await mapped('remote connect h')).deprecation, "deprecated: 'mltoolbox remote connect' is now 'mltoolbox connect'");
    assert.equal((await mapped('remote list-remotes')).deprecation, "deprecated: 'mltoolbox remote list-remotes' is now 'mltoolbox remote list'");
    assert.equal((await mapped('remote attach h')).deprecation, "deprecated: 'mltoolbox remote attach' is now 'mltoolbox shell'");
    assert.equal((await mapped('remote datasync down -r x:y')).deprecation, "deprecated: 'mltoolbox remote datasync down' is now 'mltoolbox datasync down'");
    assert.equal((await mapped('--debug remote sync h --dryrun')).deprecation,
      "deprecated: 'mltoolbox remote sync' is now 'mltoolbox sync'; '--debug' is now '--verbose'; '--dryrun' is now '--dry-run'");
    assert.equal((await mapped('remote remove h')).deprecation, undefined);
    assert.equal((await mapped('init --ray')).deprecation, undefined);
  });

  it('warns once for each ignored flag, naming it', async () => {
    const outcome = await mapped('remote connect h --timeout 30 -e a,b --python-version 3.11 --branch-name main --variant cuda --dependency-tags x -y');
    const flags = outcome.warnings.map((w) => w.split(' ')[0]);
    assert.deepEqual(flags, ['-e/--exclude', '--timeout', '-y/--yes', '--python-version', '--branch-name', '--variant', '--dependency-tags']);
    assert.ok(outcome.warnings.every((w) => / is ignored: .+/.test(w)));
    assert.equal((await mapped('remote attach h --container-name c --branch-name b')).warnings.length, 2);
    assert.equal((await mapped('remote sync h -e x')).warnings.length, 1);
    assert.equal((await mapped('remote fetch h out -e x')).warnings.length, 1);
    assert.equal((await mapped('init --ray --no-ray --python-version 3 --variant cuda')).warnings.length, 4);
    assert.equal((await mapped('remote datasync up -r a:b --username u')).warnings[0], '--username is ignored: there is no host to apply it to');
  });

  it('maps --network-mode and --identity-file to configuration variables', async () => {
    const outcome = await mapped('remote connect other --network-mode host --identity-file keys/id');
    assert.deepEqual(outcome.env, { MLTOOLBOX_NETWORK_MODE: 'host', MLTOOLBOX_REMOTE_IDENTITY_FILE: '/home/me/proj/keys/id' });
    // A saved remote reached with another user keeps its key.
    assert.deepEqual((await mapped('remote connect gpu-box -P 2200')).env, { MLTOOLBOX_REMOTE_IDENTITY_FILE: '/keys/gpu' });
    assert.equal((await mapped('remote connect gpu-box -P 2200')).argv.join(' '), 'connect alice@gpu.example.com:2200');
  });

  it('--alias saves the remote and connects to it', async () => {
    const { dir, added } = directory();
    const outcome = await rewriteLegacy(['remote', 'connect', 'bob@new.host', '--alias', 'newbox', '-P', '2022', '--identity-file', '~/.ssh/k'], { commands, remotes: dir, cwd: '/x' });
    assert.equal(outcome?.argv.join(' '), 'connect newbox');
    assert.deepEqual(added, [{ alias: 'newbox', target: 'bob@new.host:2022', identityFile: '~/.ssh/k' }]);
    assert.match(outcome!.notes.join('\n'), /remote add newbox bob@new.host:2022/);
  });

  it('notes when a host was found by host name rather than alias', async () => {
    assert.match((await mapped('remote connect gpu.example.com')).notes[0]!, /saved remote 'gpu-box'/);
    assert.deepEqual((await mapped('remote connect gpu-box')).notes, []);
  });

  it('--dryrun where the v3 command has no dry run is a clear USAGE error', async () => {
    assert.match(await usageError('remote connect h --dryrun'), /'mltoolbox connect' has no dry run/);
    assert.match(await usageError('remote fetch h out --dryrun'), /'mltoolbox fetch' has no dry run/);
    assert.match(await usageError('remote list-remotes --dryrun'), /'mltoolbox remote list' has no dry run/);
    assert.match(await usageError('doctor --dryrun'), /'mltoolbox doctor' has no dry run/);
  });

  it('v3 commands with v2 global spellings', async () => {
    assert.equal((await mapped('sync h --dryrun --debug')).argv.join(' '), 'sync h --dry-run --verbose');
    assert.equal((await mapped('--debug doctor')).argv.join(' '), '--verbose doctor');
    assert.equal((await mapped('--debug doctor')).deprecation, "deprecated: '--debug' is now '--verbose'");
    assert.equal((await mapped('datasync up -r a:b --dryrun')).argv.join(' '), 'datasync up -r a:b --dry-run');
    // After `--`, words belong to the program being run.
    assert.equal((await rewrite('exec h -- python --debug')), undefined);
  });

  it('bad v2 forms are USAGE errors that point at the migration guide', async () => {
    assert.match(await usageError('remote connect h --bogus'), /Unknown option '--bogus'.*remote connect.*migrating-from-v2/);
    assert.match(await usageError('remote datasync sideways'), /needs up or down, not 'sideways'/);
    assert.match(await usageError('remote fetch h'), /needs HOST_OR_ALIAS and REMOTE_PATH/);
    assert.match(await usageError('remote connect h -P abc'), /not a port number/);
  });

  it('leaves v3 command lines alone', async () => {
    assert.equal(await rewrite('connect h -p 8888'), undefined);
    assert.equal(await rewrite('remote list'), undefined);
  });
});
