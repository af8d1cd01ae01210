import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { migrateProject, type MigrateProjectOptions } from '../../../../src/orchestrators/migrate/migrate-project.ts';
import { createConfigSchema } from '../../../../src/services/config/schema.ts';
import { raySectionSchema } from '../../../../src/plugins/ray/index.ts';

/** mltoolbox.yaml as a load validates it: the core schema plus the built-in plugins' sections (ray:). */
const configSchema = createConfigSchema({ ray: raySectionSchema.optional() });
import type { SecretStore } from '../../../../src/services/secrets/types.ts';
import { snapshot } from '../../../fixtures/v2/tree-snapshot.ts';

const FAKE_WANDB_KEY = 'f00dfacefeedbeef0123456789abcdef01234567';
const FAKE_GITHUB_TOKEN = 'ghp_FakeToken0123456789abcdefghijklmnopqr';
const FIXTURES = fileURLToPath(new URL('../../../fixtures/v2/', import.meta.url));

function copyFixture(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'mlt-migrate-')), name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

function memoryStore(initial: Record<string, string> = {}): SecretStore & { values: Map<string, string>; sets: number } {
  const values = new Map(Object.entries(initial));
  const store = {
    backend: 'file' as const,
    values,
    sets: 0,
    get: async (name: string) => values.get(name),
    set: async (name: string, value: string) => {
      store.sets++;
      values.set(name, value);
    },
    list: async () => [...values.keys()].sort(),
    remove: async (name: string) => values.delete(name),
  };
  return store;
}

function options(projectDir: string, store: SecretStore, extra: Partial<MigrateProjectOptions> = {}) {
  const reporter = createRecordingReporter();
  let opened = 0;
  return {
    reporter,
    opened: () => opened,
    options: { projectDir, dryRun: false, reporter, secretStore: async () => (opened++, store), ...extra } satisfies MigrateProjectOptions,
  };
}

describe('migrateProject', () => {
  for (const fixture of ['project-mlt-layout', 'project-root-layout']) {
    it(`${fixture}: writes a valid mltoolbox.yaml, stores the secrets, leaves the v2 files byte-identical`, async () => {
      const dir = copyFixture(fixture);
      const before = snapshot(dir);
      const store = memoryStore();
      const run = options(dir, store);
      const result = await migrateProject(run.options);
      assert.equal(result.status, 'written');
      const text = readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8');
      assert.match(text, /^# yaml-language-server: \$schema=\.mltoolbox\/schema\.json\n/);
      assert.ok(existsSync(join(dir, '.mltoolbox/schema.json')));
      assert.equal(configSchema.safeParse(parse(text)).success, true);
      assert.equal(store.values.get('wandb_api_key'), readFileSync(join(dir, '.env'), 'utf8').match(/WANDB_API_KEY="?([0-9a-f]{40})/)![1]);
      for (const secret of [FAKE_WANDB_KEY, FAKE_GITHUB_TOKEN, '0123456789abcdef0123456789abcdef76543210']) {
        assert.ok(!text.includes(secret), 'no secret in the file');
        assert.ok(!JSON.stringify(result).includes(secret), 'no secret in the report');
        assert.ok(!run.reporter.lines.join('\n').includes(secret), 'no secret in the log');
      }
      const after = snapshot(dir);
      for (const [file, stamp] of before) assert.equal(after.get(file), stamp, `${file} is untouched`);
      assert.deepEqual([...after.keys()].filter((f) => !before.has(f)).sort(), ['.mltoolbox/schema.json', 'mltoolbox.yaml']);
    });
  }

  it('a second run is "already migrated": no write, no new secret', async () => {
    const dir = copyFixture('project-mlt-layout');
    const store = memoryStore();
    await migrateProject(options(dir, store).options);
    const written = `${readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8')}@${statSync(join(dir, 'mltoolbox.yaml')).mtimeMs}`;
    const sets = store.sets;
    let asked = false;
    const second = await migrateProject(options(dir, store, { confirm: async () => (asked = true) }).options);
    assert.equal(second.status, 'already-migrated');
    assert.deepEqual(second.secrets.map((s) => s.status), ['already-stored', 'already-stored']);
    assert.equal(store.sets, sets);
    assert.equal(asked, false, 'nothing to confirm');
    assert.equal(`${readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8')}@${statSync(join(dir, 'mltoolbox.yaml')).mtimeMs}`, written);
  });

  it('--dry-run writes nothing, stores nothing, never opens the store, and shows the file', async () => {
    const dir = copyFixture('project-mlt-layout');
    const before = snapshot(dir);
    const store = memoryStore();
    const run = options(dir, store, { dryRun: true });
    const result = await migrateProject(run.options);
    assert.equal(result.status, 'dry-run');
    assert.equal(run.opened(), 0);
    assert.equal(store.values.size, 0);
    assert.deepEqual(snapshot(dir), before);
    assert.match(result.content!, /WANDB_API_KEY: \$\{secret:wandb_api_key\}/);
    assert.ok(!result.content!.includes(FAKE_WANDB_KEY));
    assert.deepEqual(result.secrets.map((s) => s.status), ['would-store', 'would-store']);
  });

  it('a different value already under the name: the secret gets the project prefix', async () => {
    const dir = copyFixture('project-mlt-layout');
    const store = memoryStore({ wandb_api_key: 'another-projects-key-0000000000000000000' });
    const result = await migrateProject(options(dir, store).options);
    assert.deepEqual(result.secrets.map((s) => s.name), ['vision-transformers.wandb_api_key', 'github_token']);
    assert.equal(store.values.get('wandb_api_key'), 'another-projects-key-0000000000000000000', 'the other project keeps its key');
    assert.equal(store.values.get('vision-transformers.wandb_api_key'), FAKE_WANDB_KEY);
    assert.match(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8'), /\$\{secret:vision-transformers\.wandb_api_key\}/);
    const again = await migrateProject(options(dir, store).options);
    assert.equal(again.status, 'already-migrated', 'the prefixed name is found again');
  });

  it('an mltoolbox.yaml that differs is never replaced (CONFIG_EXISTS); the dry run says so', async () => {
    const dir = copyFixture('project-root-layout');
    writeFileSync(join(dir, 'mltoolbox.yaml'), 'version: 1\n');
    const store = memoryStore();
    await assert.rejects(migrateProject(options(dir, store).options), (error: any) => error.code === 'CONFIG_EXISTS' && /--dry-run/.test(error.hint));
    assert.equal(readFileSync(join(dir, 'mltoolbox.yaml'), 'utf8'), 'version: 1\n');
    const dry = await migrateProject(options(dir, store, { dryRun: true }).options);
    assert.equal(dry.existingDiffers, true);
  });

  it('declining the confirmation writes and stores nothing', async () => {
    const dir = copyFixture('project-mlt-layout');
    const store = memoryStore();
    const result = await migrateProject(options(dir, store, { confirm: async (preview) => (assert.equal(preview.secrets.length, 2), false) }).options);
    assert.equal(result.status, 'cancelled');
    assert.equal(store.sets, 0);
    assert.equal(existsSync(join(dir, 'mltoolbox.yaml')), false);
  });

  it('a folder without v2 files: MIGRATE_NOTHING_FOUND', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlt-empty-'));
    writeFileSync(join(dir, '.env'), 'A=1\n');
    await assert.rejects(migrateProject(options(dir, memoryStore()).options), (error: any) => error.code === 'MIGRATE_NOTHING_FOUND');
  });
});
