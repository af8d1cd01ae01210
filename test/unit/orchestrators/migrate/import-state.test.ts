import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqlite from 'node:sqlite';
import { describe, it } from 'node:test';
import { openAppStateStore } from '../../../../src/app/state-deps.ts';
import { resolvePaths } from '../../../../src/core/paths.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { openStateStore } from '../../../../src/db/state-store.ts';
import { importV2State } from '../../../../src/orchestrators/migrate/import-state.ts';
import { V2_STATE_IMPORT_MARKER } from '../../../../src/orchestrators/migrate/marker.ts';
import { v2DatabaseFile } from '../../../../src/services/v2/v2-database.ts';
import { createV2Database, V2_SCHEMA } from '../../../fixtures/v2/v2-database.ts';

const HOME = '/home/ada';
const NOW = () => new Date('2025-03-01T12:00:00.000Z');

async function setup(v2Sql?: string) {
  const root = mkdtempSync(join(tmpdir(), 'mlt-import-'));
  const v2File = join(root, 'mltoolbox.db');
  createV2Database(v2File, v2Sql);
  const store = await openStateStore({ file: join(root, 'state.db'), now: NOW });
  const run = (extra: Partial<Parameters<typeof importV2State>[0]> = {}) =>
    importV2State({ store, v2File, sqlite, homeDir: HOME, dryRun: false, now: NOW, ...extra });
  return { root, v2File, store, run };
}

describe('importing the v2 state', () => {
  it('imports remotes with their user, host, identity file and times; the v2 file stays byte-identical', async () => {
    const { v2File, store, run } = await setup();
    const before = readFileSync(v2File);
    const result = run();
    assert.deepEqual(result.remotes.map((r) => [r.alias, r.status]), [['lambda-a100', 'imported'], ['lab-gh200', 'imported']]);
    assert.deepEqual(store.getRemote('lambda-a100'), {
      alias: 'lambda-a100',
      host: '129.146.33.7',
      user: 'ubuntu',
      port: null,
      identityFile: '/home/ada/.ssh/id_ed25519',
      createdAt: '2024-11-02T18:04:55.000Z',
      lastUsedAt: '2025-01-14T09:30:12.345Z',
    });
    assert.equal(store.getRemote('lab-gh200')?.user, 'ada');
    assert.ok(result.notMapped.some((item) => item.from === 'remote lambda-a100: git_name'));
    assert.ok(result.notMapped.some((item) => item.from === 'project vision-transformers: port_mappings' && item.reason.includes('8888:8888')));
    assert.ok(result.notMapped.some((item) => item.from === 'project speech-asr: conda_env'));
    assert.ok(result.projects.every((p) => p.status === 'not-mapped'), 'without a project folder, projects are reported');
    assert.ok(store.getMeta(V2_STATE_IMPORT_MARKER));
    assert.ok(readFileSync(v2File).equals(before));
    store.close();
  });

  it('is idempotent: a second run changes nothing', async () => {
    const { store, run } = await setup();
    run();
    const remotes = store.listRemotes();
    const second = run();
    assert.deepEqual(second.remotes.map((r) => r.status), ['already-present', 'already-present']);
    assert.deepEqual(store.listRemotes(), remotes);
    store.close();
  });

  it('an alias mltoolbox already has for another host is kept, reported as a conflict', async () => {
    const { store, run } = await setup();
    store.upsertRemote({ alias: 'lab-gh200', host: 'other.example.com' });
    const result = run();
    assert.equal(result.remotes.find((r) => r.alias === 'lab-gh200')?.status, 'conflict');
    assert.equal(store.getRemote('lab-gh200')?.host, 'other.example.com');
    store.close();
  });

  it('links the v2 project of the folder being migrated to its most recently used remote', async () => {
    const { store, run } = await setup();
    const result = run({ project: { dir: '/home/ada/code/vision-transformers', name: 'vision-transformers' } });
    const linked = result.projects.find((p) => p.name === 'vision-transformers');
    assert.equal(linked?.status, 'linked');
    assert.equal(linked?.lastRemote, 'lab-gh200');
    assert.equal(store.getProjectByPath('/home/ada/code/vision-transformers')?.lastRemote, 'lab-gh200');
    assert.equal(result.projects.find((p) => p.name === 'speech-asr')?.status, 'not-mapped');
    const again = run({ project: { dir: '/home/ada/code/vision-transformers', name: 'vision-transformers' } });
    assert.equal(again.projects.find((p) => p.name === 'vision-transformers')?.status, 'already-linked');
    store.close();
  });

  it('a dry run writes nothing', async () => {
    const { store, run } = await setup();
    const result = run({ dryRun: true, project: { dir: '/p', name: 'speech-asr' } });
    assert.deepEqual(result.remotes.map((r) => r.status), ['would-import', 'would-import']);
    assert.equal(result.projects.find((p) => p.name === 'speech-asr')?.status, 'would-link');
    assert.deepEqual(store.listRemotes(), []);
    assert.equal(store.getMeta(V2_STATE_IMPORT_MARKER), undefined);
    const noStore = run({ dryRun: true, store: undefined });
    assert.deepEqual(noStore.remotes.map((r) => r.status), ['would-import', 'would-import']);
    store.close();
  });

  it('a partial or corrupt v2 database gives warnings, imports what it can, never throws', async () => {
    const partial = await setup(`CREATE TABLE remotes (id INTEGER PRIMARY KEY, alias VARCHAR, host VARCHAR);
      INSERT INTO remotes VALUES (1, 'box', 'ada@box.example.com:2222');
      INSERT INTO remotes VALUES (2, '-bad alias', 'x');`);
    const result = partial.run();
    assert.deepEqual(result.remotes.map((r) => [r.alias, r.status]), [['box', 'imported'], ['-bad alias', 'skipped']]);
    assert.deepEqual([partial.store.getRemote('box')?.user, partial.store.getRemote('box')?.port], ['ada', 2222]);
    assert.ok(result.warnings.some((w) => w.includes('no projects table')));
    partial.store.close();

    const corrupt = await setup(V2_SCHEMA);
    writeFileSync(corrupt.v2File, 'garbage'.repeat(100));
    const bad = corrupt.run();
    assert.equal(bad.remotes.length, 0);
    assert.ok(bad.warnings.length > 0);
    corrupt.store.close();
  });
});

describe('the automatic import when the app opens the state database', () => {
  it('imports once, says so on stderr, and sets the marker; later opens are silent', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-auto-'));
    const env = { HOME: join(root, 'home'), XDG_DATA_HOME: join(root, 'data'), XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
    const paths = resolvePaths(env);
    const v2File = v2DatabaseFile(paths.homeDir);
    mkdirSync(join(v2File, '..'), { recursive: true });
    createV2Database(v2File);
    const before = readFileSync(v2File);

    const reporter = createRecordingReporter();
    const environment = { env, projectDir: root, reporter, interactive: false };
    const store = await openAppStateStore(paths, environment);
    assert.deepEqual(store.listRemotes().map((r) => r.alias), ['lab-gh200', 'lambda-a100']);
    assert.ok(reporter.lines.some((line) => /info: imported 2 saved remotes from mltoolbox v2/.test(line)), reporter.lines.join('\n'));
    store.close();

    const quiet = createRecordingReporter();
    const again = await openAppStateStore(paths, { ...environment, reporter: quiet });
    assert.deepEqual(quiet.lines, []);
    again.removeRemote('lab-gh200');
    again.close();
    const third = await openAppStateStore(paths, { ...environment, reporter: quiet });
    assert.deepEqual(third.listRemotes().map((r) => r.alias), ['lambda-a100'], 'a remote removed after the import is not brought back');
    third.close();
    assert.ok(readFileSync(v2File).equals(before));
  });

  it('importV2: false (migrate itself) skips it; a broken v2 file is one warning, not a failure', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlt-auto-'));
    const env = { HOME: join(root, 'home'), XDG_DATA_HOME: join(root, 'data') };
    const paths = resolvePaths(env);
    const v2File = v2DatabaseFile(paths.homeDir);
    mkdirSync(join(v2File, '..'), { recursive: true });
    createV2Database(v2File);
    const reporter = createRecordingReporter();
    const environment = { env, projectDir: root, reporter, interactive: false };
    const skipped = await openAppStateStore(paths, environment, { importV2: false });
    assert.deepEqual(skipped.listRemotes(), []);
    skipped.close();

    writeFileSync(v2File, 'not sqlite'.repeat(200));
    const store = await openAppStateStore(paths, environment);
    assert.deepEqual(store.listRemotes(), []);
    assert.ok(reporter.lines.some((line) => line.startsWith('warn: mltoolbox v2 state:')), reporter.lines.join('\n'));
    store.close();
  });
});
