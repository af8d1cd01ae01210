import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqlite from 'node:sqlite';
import { describe, it } from 'node:test';
import { readV2Database, v2DatabaseFile, v2TimestampToIso } from '../../../../src/services/v2/v2-database.ts';
import { createV2Database, V2_SCHEMA } from '../../../fixtures/v2/v2-database.ts';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'mlt-v2db-')), 'mltoolbox.db');

describe('reading the v2 database', () => {
  it('reads remotes, projects and links; the file stays byte-identical', () => {
    const file = tempFile();
    createV2Database(file);
    const before = readFileSync(file);
    const state = readV2Database(file, sqlite);
    assert.deepEqual(state.warnings, []);
    assert.deepEqual(state.remotes.map((r) => [r.alias, r.username, r.host, r.identityFile]), [
      ['lambda-a100', 'ubuntu', '129.146.33.7', '~/.ssh/id_ed25519'],
      ['lab-gh200', 'ada', 'gh200.lab.example.com', null],
    ]);
    assert.equal(state.remotes[0]!.lastUsed, '2025-01-14 09:30:12.345678');
    assert.deepEqual(state.projects.map((p) => [p.name, p.condaEnv, p.portMappings]), [
      ['vision-transformers', null, ['8888:8888', '6006:6006']],
      ['speech-asr', 'asr', []],
    ]);
    assert.deepEqual(state.links, [{ remoteId: 1, projectId: 1 }, { remoteId: 2, projectId: 1 }, { remoteId: 2, projectId: 2 }]);
    assert.ok(readFileSync(file).equals(before), 'the v2 database is not modified');
  });

  it('a partial database: missing tables and columns are warnings; the rest is read', () => {
    const file = tempFile();
    createV2Database(file, `CREATE TABLE remotes (id INTEGER PRIMARY KEY, alias VARCHAR, host VARCHAR);
      INSERT INTO remotes VALUES (1, 'box', 'box.example.com');
      INSERT INTO remotes VALUES (2, NULL, 'nameless.example.com');
      CREATE TABLE projects (id INTEGER PRIMARY KEY, container_name VARCHAR);`);
    const state = readV2Database(file, sqlite);
    assert.deepEqual(state.remotes.map((r) => [r.alias, r.username]), [['box', null]]);
    assert.deepEqual(state.projects, []);
    assert.ok(state.warnings.some((w) => w.includes('username')), state.warnings.join('\n'));
    assert.ok(state.warnings.some((w) => w.includes('no alias')));
    assert.ok(state.warnings.some((w) => w.includes('projects table has no name column')));
    assert.ok(state.warnings.some((w) => w.includes('no remote_projects table')));
  });

  it('a corrupt file is a warning, not an exception', () => {
    const file = tempFile();
    writeFileSync(file, 'this is not a database, just some text that is long enough to be a page header? no'.repeat(20));
    const before = readFileSync(file);
    const state = readV2Database(file, sqlite);
    assert.equal(state.remotes.length, 0);
    assert.ok(state.warnings.length > 0);
    assert.ok(readFileSync(file).equals(before));
  });

  it('exact v2 schema without rows: nothing, no warnings', () => {
    const file = tempFile();
    createV2Database(file, V2_SCHEMA);
    assert.deepEqual(readV2Database(file, sqlite), { file, remotes: [], projects: [], links: [], warnings: [] });
  });

  it('timestamps and the file location', () => {
    assert.equal(v2TimestampToIso('2025-01-14 09:30:12.345678'), '2025-01-14T09:30:12.345Z');
    assert.equal(v2TimestampToIso('2025-01-14T09:30:12+02:00'), '2025-01-14T07:30:12.000Z');
    assert.equal(v2TimestampToIso('yesterday'), undefined);
    assert.equal(v2TimestampToIso(null), undefined);
    assert.equal(v2DatabaseFile('/home/ada'), '/home/ada/.config/mltoolbox/mltoolbox.db');
  });
});
