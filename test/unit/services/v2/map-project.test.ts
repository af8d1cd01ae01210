import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createConfigSchema } from '../../../../src/services/config/schema.ts';
import { raySectionSchema } from '../../../../src/plugins/ray/index.ts';

/** mltoolbox.yaml as a load validates it: the core schema plus the built-in plugins' sections (ray:). */
const configSchema = createConfigSchema({ ray: raySectionSchema.optional() });
import { findLegacyProject, type LegacyProject } from '../../../../src/services/v2/legacy-project.ts';
import { mapLegacyProject } from '../../../../src/services/v2/map-project.ts';
import { DEFAULT_BASE_IMAGE } from '../../../../src/services/config/defaults.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../../../fixtures/v2/${name}`, import.meta.url));
export const FAKE_WANDB_KEY = 'f00dfacefeedbeef0123456789abcdef01234567';
export const FAKE_GITHUB_TOKEN = 'ghp_FakeToken0123456789abcdefghijklmnopqr';

/** A project from strings, for the cases the fixtures do not cover. */
function legacy(compose: string, env = '', layout: 'mlt' | 'root' = 'mlt'): LegacyProject {
  const composeDir = layout === 'mlt' ? '.mlt' : '.';
  return {
    projectDir: '/home/ada/proj',
    layout,
    composeDir,
    compose: { path: `${composeDir === '.' ? '' : '.mlt/'}docker-compose.yml`, text: compose },
    ...(env ? { env: { path: '.env', text: env } } : {}),
  };
}

describe('mapping a v2 project to mltoolbox.yaml', () => {
  it('.mlt layout: image, env, secrets, volumes, network, GPUs, workdir, ray', async () => {
    const project = await findLegacyProject(fixture('project-mlt-layout'));
    assert.ok(project);
    assert.equal(project.layout, 'mlt');
    const plan = mapLegacyProject(project);
    assert.equal(configSchema.safeParse(plan.config).success, true, 'the result is a valid mltoolbox.yaml');
    const config = plan.config as any;
    assert.deepEqual(config.project, { name: 'vision-transformers', workdir: '/workspace/vision-transformers' });
    assert.deepEqual(config.environment.dockerfile, {
      path: '.mlt/Dockerfile',
      context: '.',
      args: { PYTHON_VERSION: '3.12', GIT_NAME: 'ada-lab', GIT_EMAIL: 'ada@example.com', PROJECT_NAME: 'vision-transformers', VARIANT: 'cuda', DEPENDENCY_TAGS: 'dev,ray' },
    });
    assert.equal(config.environment.env.WANDB_API_KEY, '${secret:wandb_api_key}');
    assert.equal(config.environment.env.GITHUB_TOKEN, '${secret:github_token}');
    assert.equal(config.environment.env.WANDB_ENTITY, 'acme-research', 'quotes are removed');
    assert.equal(config.environment.env.HOST_RAY_CLIENT_PORT, '10001');
    assert.deepEqual(config.environment.volumes, ['/var/run/docker.sock:/var/run/docker.sock']);
    assert.equal(config.environment.network_mode, 'host');
    assert.equal(config.environment.gpus, 'required');
    assert.equal(config.environment.gpu_count, 'all');
    assert.deepEqual(config.ray, { enabled: true });
    assert.deepEqual(config.plugins, ['ray']);
    assert.deepEqual(plan.secrets.map((s) => [s.variable, s.name, s.value]), [['WANDB_API_KEY', 'wandb_api_key', FAKE_WANDB_KEY], ['GITHUB_TOKEN', 'github_token', FAKE_GITHUB_TOKEN]]);
    const notMapped = plan.notMapped.map((item) => item.from);
    assert.ok(notMapped.some((f) => f.includes('~/.ssh')), 'a ~ volume needs an absolute path');
    assert.ok(notMapped.some((f) => f.endsWith('container_name')));
    assert.ok(!JSON.stringify(plan.config).includes(FAKE_WANDB_KEY));
    assert.ok(!JSON.stringify({ ...plan, secrets: [] }).includes(FAKE_WANDB_KEY), 'no secret in the report');
  });

  it('root layout: list-style args, ${HOME} volumes, shm_size, a count of GPUs, an empty token', async () => {
    const project = await findLegacyProject(fixture('project-root-layout'));
    assert.ok(project);
    assert.equal(project.layout, 'root');
    const plan = mapLegacyProject(project);
    assert.equal(configSchema.safeParse(plan.config).success, true);
    const config = plan.config as any;
    assert.deepEqual(config.environment.dockerfile.path, 'Dockerfile');
    assert.equal(config.environment.dockerfile.args.DEPENDENCY_TAGS, undefined);
    assert.ok(plan.notMapped.some((item) => item.from.endsWith('build.args.DEPENDENCY_TAGS')));
    assert.deepEqual(config.environment.volumes, ['./data:/data:ro']);
    assert.ok(plan.notMapped.some((item) => item.from.includes('${HOME}') && item.reason.includes('absolute host path')));
    assert.equal(config.environment.shm_size, '16g');
    assert.equal(config.environment.gpu_count, 1);
    assert.equal(config.environment.env.GITHUB_TOKEN, '', 'an empty token stays empty');
    assert.ok(plan.notes.some((note) => note.includes('mltoolbox secret set github_token')));
    assert.deepEqual(plan.secrets.map((s) => s.variable), ['WANDB_API_KEY']);
    assert.ok(plan.notMapped.some((item) => item.from.endsWith('.ipc')));
  });

  it('uses the names the caller chose for secrets', async () => {
    const project = (await findLegacyProject(fixture('project-mlt-layout')))!;
    const plan = mapLegacyProject(project, { secretNames: new Map([['WANDB_API_KEY', 'vision-transformers.wandb_api_key']]) });
    assert.equal((plan.config as any).environment.env.WANDB_API_KEY, '${secret:vision-transformers.wandb_api_key}');
  });

  it('a build argument holding a secret is not mapped (image history); the secret reaches the container as env', () => {
    const plan = mapLegacyProject(legacy(
      'services:\n  dev:\n    env_file: ../.env\n    build:\n      context: ..\n      dockerfile: .mlt/Dockerfile\n      args:\n        TOKEN_FOR_PIP: ${GITHUB_TOKEN}\n',
      'GITHUB_TOKEN=ghp_FakeToken0123456789abcdefghijklmnopqr\n',
    ));
    const config = plan.config as any;
    assert.equal(config.environment.dockerfile.args?.TOKEN_FOR_PIP, undefined);
    assert.ok(plan.notMapped.some((n) => /TOKEN_FOR_PIP/.test(n.from) && /image history/.test(n.reason)));
    assert.equal(plan.secrets.length, 1);
    assert.deepEqual(plan.secrets[0]!.keys, ['environment.env.GITHUB_TOKEN']);
  });

  it('secret by shape under an innocent name; a URL with a password', () => {
    const plan = mapLegacyProject(legacy(
      'services:\n  dev:\n    image: python:3.12\n    environment:\n      DATABASE_URL: postgres://ml:${DB_PASSWORD}@db/ml\n      HELPER: ${HELPER}\n',
      'DB_PASSWORD=correct-horse-battery\nHELPER=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\n',
    ));
    const env = (plan.config as any).environment.env;
    assert.equal(env.HELPER, '${secret:helper}');
    assert.equal(env.DATABASE_URL, '${secret:database_url}');
    assert.equal((plan.config as any).environment.base_image, 'python:3.12');
    assert.equal(env.DB_PASSWORD, undefined, 'no env_file: .env values are only used for substitution');
  });

  it('a literal ${ in a value survives mltoolbox interpolation', () => {
    const plan = mapLegacyProject(legacy('services:\n  dev:\n    image: x\n    environment:\n      PS1: "$${USER}@box"\n'));
    assert.equal((plan.config as any).environment.env.PS1, '$${USER}@box');
  });

  it('ports, long volume syntax, named volumes, several services, unknown keys', () => {
    const plan = mapLegacyProject(legacy([
      'services:',
      '  dev:',
      '    image: x',
      '    ports: ["8888:8888", 6006, {target: 8265, published: 18265}, "9000-9010:9000-9010"]',
      '    volumes:',
      '      - hf-cache:/root/.cache/huggingface',
      '      - {type: bind, source: ../data, target: /data, read_only: true}',
      '      - {type: tmpfs, target: /scratch}',
      '      - ../../elsewhere:/elsewhere',
      '    cap_add: [SYS_PTRACE]',
      '  db:',
      '    image: postgres',
    ].join('\n')));
    const environment = (plan.config as any).environment;
    assert.deepEqual(environment.ports, ['8888:8888', 6006, '18265:8265']);
    assert.deepEqual(environment.volumes, ['hf-cache:/root/.cache/huggingface', './data:/data:ro']);
    const reasons = plan.notMapped.map((item) => `${item.from}: ${item.reason}`);
    assert.ok(reasons.some((r) => r.includes('9000-9010')));
    assert.ok(reasons.some((r) => r.includes('tmpfs')));
    assert.ok(reasons.some((r) => r.includes('../../elsewhere') && r.includes('outside the project')));
    assert.ok(reasons.some((r) => r.includes('cap_add')));
    assert.ok(reasons.some((r) => r.includes('services.db') && r.includes('one dev container')));
    const parsed = configSchema.safeParse(plan.config);
    assert.equal(parsed.success, true, JSON.stringify(parsed.error?.issues));
  });

  it('invalid YAML and a file with no services are MIGRATE_LEGACY_INVALID with a position', () => {
    assert.throws(() => mapLegacyProject(legacy('services:\n  dev:\n    image: [unclosed\n')), (error: any) => error.code === 'MIGRATE_LEGACY_INVALID' && /docker-compose\.yml:\d+:\d+/.test(error.message));
    assert.throws(() => mapLegacyProject(legacy('version: "3"\n')), (error: any) => error.code === 'MIGRATE_LEGACY_INVALID');
  });

  it('no build and no image: the default image, said so', () => {
    const plan = mapLegacyProject(legacy('services:\n  dev:\n    network_mode: host\n'));
    assert.equal((plan.config as any).environment.base_image, DEFAULT_BASE_IMAGE);
    assert.ok(plan.notes.some((note) => note.includes('default image')));
  });
});
