import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createSandbox, runMltoolbox, useHarness, type RunResult, type Sandbox } from '../harness/index.ts';
import { createV2Database } from '../fixtures/v2/v2-database.ts';
import { snapshot } from '../fixtures/v2/tree-snapshot.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/v2/', import.meta.url));
const FAKE_WANDB_KEY = 'f00dfacefeedbeef0123456789abcdef01234567';
const FAKE_GITHUB_TOKEN = 'ghp_FakeToken0123456789abcdefghijklmnopqr';
const ROOT_LAYOUT_WANDB_KEY = '0123456789abcdef0123456789abcdef76543210';
const SECRETS = [FAKE_WANDB_KEY, FAKE_GITHUB_TOKEN, ROOT_LAYOUT_WANDB_KEY];
const SECRET_ENV = { MLTOOLBOX_SECRET_STORE: 'file', MLTOOLBOX_SECRET_PASSPHRASE: 'migrate-test-passphrase' };

function assertNoSecrets(...texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) assert.ok(!text.includes(secret), `a secret value leaked into: ${text.slice(0, 200)}`);
}

async function sandboxWith(fixture: string, options: Parameters<typeof createSandbox>[0] = {}): Promise<Sandbox> {
  const sandbox = await createSandbox({ ...options, env: { ...SECRET_ENV, ...options.env } });
  cpSync(join(FIXTURES, fixture), sandbox.projectDir, { recursive: true });
  return sandbox;
}

const mlt = (sandbox: Sandbox, args: string[]): Promise<RunResult> =>
  runMltoolbox(['-C', sandbox.projectDir, ...args], { env: sandbox.env, cwd: sandbox.root, timeoutMs: 180_000 });

function envelope(result: RunResult) {
  assert.equal(result.code, 0, `failed:\n${result.stderr}\n${result.stdout}`);
  return JSON.parse(result.stdout).result;
}

describe('mltoolbox migrate', () => {
  for (const fixture of ['project-mlt-layout', 'project-root-layout']) {
    it(`${fixture}: writes a valid mltoolbox.yaml, secrets only in the store, v2 files untouched; twice changes nothing`, async () => {
      const sandbox = await sandboxWith(fixture);
      const before = snapshot(sandbox.projectDir);

      const refused = await mlt(sandbox, ['migrate', '--json']);
      assert.equal(refused.code, 2, refused.stderr);
      assert.equal(JSON.parse(refused.stdout).error.code, 'MIGRATE_CONFIRMATION_REQUIRED');

      const dry = await mlt(sandbox, ['migrate', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /dry run: nothing written/);
      assert.match(dry.stdout, /\$\{secret:wandb_api_key\}/);
      assertNoSecrets(dry.stdout, dry.stderr);
      assert.deepEqual(snapshot(sandbox.projectDir), before, '--dry-run writes nothing');
      const noSecrets = envelope(await mlt(sandbox, ['secret', 'list', '--json']));
      assert.deepEqual(noSecrets.names, [], '--dry-run stores no secret');

      const first = await mlt(sandbox, ['migrate', '--yes', '--json']);
      const result = envelope(first).project;
      assert.equal(result.status, 'written');
      assert.ok(result.secrets.some((s: { name: string }) => s.name === 'wandb_api_key'));
      assert.ok(result.notMapped.length > 0);
      assertNoSecrets(first.stdout, first.stderr);
      const yaml = readFileSync(join(sandbox.projectDir, 'mltoolbox.yaml'), 'utf8');
      assertNoSecrets(yaml);
      assert.match(yaml, /WANDB_API_KEY: \$\{secret:wandb_api_key\}/);

      const after = snapshot(sandbox.projectDir);
      for (const [file, stamp] of before) assert.equal(after.get(file), stamp, `${file} is byte-identical`);

      const listed = await mlt(sandbox, ['secret', 'list', '--json']);
      assert.match(listed.stdout, /wandb_api_key/);

      const validate = await mlt(sandbox, ['config', 'validate']);
      assert.equal(validate.code, 0, `${validate.stderr}\n${validate.stdout}`);
      assertNoSecrets(validate.stdout, validate.stderr);

      const second = await mlt(sandbox, ['migrate', '--yes']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /already migrated/);
      assert.deepEqual(snapshot(sandbox.projectDir), after, 'the second run writes nothing');
      assertNoSecrets(second.stdout, second.stderr);
    });
  }

  it('a folder without v2 files: exit 1 MIGRATE_NOTHING_FOUND with a hint', async () => {
    const sandbox = await createSandbox();
    const result = await runMltoolbox(['migrate', '--yes'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[MIGRATE_NOTHING_FOUND\]/);
    assert.match(result.stderr, /mltoolbox init/);
  });
});

describe('v2 state import', () => {
  async function sandboxWithV2Db(fixture = 'project-mlt-layout') {
    const sandbox = await sandboxWith(fixture);
    const v2File = join(sandbox.home, '.config', 'mltoolbox', 'mltoolbox.db');
    mkdirSync(join(v2File, '..'), { recursive: true });
    createV2Database(v2File);
    return { sandbox, v2File, bytes: readFileSync(v2File) };
  }

  it('migrate --state imports the remotes and links this project; the v2 database is untouched; again changes nothing', async () => {
    const { sandbox, v2File, bytes } = await sandboxWithV2Db();
    const dry = envelope(await mlt(sandbox, ['migrate', '--state', '--dry-run', '--json']));
    assert.deepEqual(dry.state.remotes.map((r: { status: string }) => r.status), ['would-import', 'would-import']);

    const result = envelope(await mlt(sandbox, ['migrate', '--state', '--yes', '--json']));
    assert.deepEqual(result.state.remotes.map((r: { alias: string; status: string }) => [r.alias, r.status]), [['lambda-a100', 'imported'], ['lab-gh200', 'imported']]);
    const project = result.state.projects.find((p: { name: string }) => p.name === 'vision-transformers');
    assert.equal(project.status, 'linked');
    assert.equal(project.lastRemote, 'lab-gh200');
    assert.equal(result.project.status, 'written');

    const remotes = envelope(await mlt(sandbox, ['remote', 'list', '--json']));
    const list = remotes.remotes;
    assert.deepEqual(list.map((r: { alias: string }) => r.alias).sort(), ['lab-gh200', 'lambda-a100']);
    const a100 = list.find((r: { alias: string }) => r.alias === 'lambda-a100');
    assert.equal(a100.user, 'ubuntu');
    assert.equal(a100.identityFile, join(sandbox.home, '.ssh', 'id_ed25519'));

    const again = envelope(await mlt(sandbox, ['migrate', '--state', '--yes', '--json']));
    assert.deepEqual(again.state.remotes.map((r: { status: string }) => r.status), ['already-present', 'already-present']);
    assert.equal(again.project.status, 'already-migrated');
    assert.ok(readFileSync(v2File).equals(bytes), 'the v2 database is byte-identical');
  });

  it('any command that opens the state imports the v2 remotes once, on its own', async () => {
    const { sandbox, v2File, bytes } = await sandboxWithV2Db();
    const first = await mlt(sandbox, ['remote', 'list', '--json']);
    const list = envelope(first);
    assert.equal(list.remotes.length, 2);
    assert.match(first.stderr, /imported 2 saved remotes from mltoolbox v2/);
    const second = await mlt(sandbox, ['remote', 'list', '--json']);
    assert.doesNotMatch(second.stderr, /imported/);
    assert.ok(readFileSync(v2File).equals(bytes));
  });

  it('a corrupt v2 database is a warning, never a failure', async () => {
    const { sandbox, v2File } = await sandboxWithV2Db();
    writeFileSync(v2File, 'not a database '.repeat(100));
    const listed = await mlt(sandbox, ['remote', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /v2/);
    const state = await mlt(sandbox, ['migrate', '--state', '--dry-run', '--json']);
    assert.equal(state.code, 0, state.stderr);
    assert.ok(JSON.parse(state.stdout).result.state.warnings.length > 0);
  });
});

describe('a migrated project connects', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  const host = harness.ssh.alias;

  after(async () => {
    if (sandbox) await mlt(sandbox, ['down', host]);
  });

  it('connect --no-attach builds the v2 Dockerfile with its args and runs with the migrated settings', async () => {
    sandbox = await sandboxWith('project-mlt-layout', { harness });
    const dockerfile = join(sandbox.projectDir, '.mlt', 'Dockerfile');
    // The test host is offline: the v2 base image becomes the harness's image.
    writeFileSync(dockerfile, readFileSync(dockerfile, 'utf8').replace(/^FROM .*$/m, `FROM ${harness.docker.baseImage}`));
    // Do not bind the test machine's Docker socket into a test container.
    const compose = join(sandbox.projectDir, '.mlt', 'docker-compose.yml');
    writeFileSync(compose, readFileSync(compose, 'utf8').replace(/^.*docker\.sock.*\n/m, ''));

    const migrated = envelope(await mlt(sandbox, ['migrate', '--yes', '--json']));
    assert.equal(migrated.project.status, 'written');
    // The harness host has no GPUs and the test image no Ray: what a user without them would put in their local file.
    writeFileSync(join(sandbox.projectDir, 'mltoolbox.local.yaml'), 'environment:\n  gpus: optional\nray:\n  enabled: false\n');
    const validate = await mlt(sandbox, ['config', 'validate']);
    assert.equal(validate.code, 0, `${validate.stderr}\n${validate.stdout}`);

    const connect = await mlt(sandbox, ['connect', host, '--no-attach', '--json']);
    const result = envelope(connect);
    assert.equal(result.imageAction, 'built');
    assertNoSecrets(connect.stdout, connect.stderr);

    const exec = await mlt(sandbox, ['exec', host, '--', 'sh', '-c', 'pwd; echo "$WANDB_PROJECT"; cat /root/.gitconfig; cat /root/.mlt-dependency-tags; echo "key length ${#WANDB_API_KEY}"; ls']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /^\/workspace\/vision-transformers$/m);
    assert.match(exec.stdout, /^vision-transformers$/m);
    assert.match(exec.stdout, /name = ada-lab/);
    assert.match(exec.stdout, /^dev,ray$/m);
    assert.match(exec.stdout, /key length 40/, 'the secret reached the container');
    assert.match(exec.stdout, /src/);
    assertNoSecrets(exec.stdout, exec.stderr);
  });
});
