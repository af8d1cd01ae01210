import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isUserError, type UserError } from '../../../../../src/core/errors.ts';
import { importDevcontainer, importDevcontainerText, projectSlug } from '../../../../../src/services/config/devcontainer/import.ts';

const FIXTURES = new URL('../../../../fixtures/devcontainer/', import.meta.url).pathname;
const PROJECT = '/home/me/vision';

/** Imports an inline devcontainer.json placed at PROJECT/.devcontainer/devcontainer.json. */
function load(json: string, options: { env?: NodeJS.ProcessEnv; localEnv?: 'resolve' | 'reference'; file?: string } = {}) {
  return importDevcontainerText(json, options.file ?? '.devcontainer/devcontainer.json', {
    projectDir: PROJECT,
    ...(options.env ? { env: options.env } : {}),
    ...(options.localEnv ? { localEnv: options.localEnv } : {}),
  });
}

function environment(json: string, options?: Parameters<typeof load>[1]): Record<string, unknown> {
  return (load(json, options).layer.value.environment ?? {}) as Record<string, unknown>;
}

function rejects(json: string, code: string): UserError {
  try {
    load(json);
  } catch (error) {
    assert.ok(isUserError(error), String(error));
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe('devcontainer.json import: fixtures', () => {
  it('maps the GPU Dockerfile fixture (comments, trailing commas, context "..")', async () => {
    const projectDir = join(FIXTURES, 'gpu-dockerfile');
    const { layer, warnings, notes } = await importDevcontainer('.devcontainer/devcontainer.json', { projectDir, env: {} });
    assert.equal(layer.kind, 'devcontainer');
    assert.equal(layer.file, join(projectDir, '.devcontainer/devcontainer.json'));
    assert.deepEqual(layer.value.project, { name: 'vision-training-gpu', workdir: '/workspaces/gpu-dockerfile' });
    const env = layer.value.environment as Record<string, unknown>;
    assert.deepEqual(env.dockerfile, { path: 'docker/Dockerfile', context: '.', args: { PYTHON_VERSION: '3.11', CUDA: '12.4' }, target: 'dev' });
    assert.equal(env.gpus, 'optional', 'hostRequirements.gpu "optional" overrides the "required" of --gpus');
    assert.equal(env.gpu_count, 'all');
    assert.equal(env.shm_size, '16g');
    assert.equal(env.network_mode, 'host');
    assert.deepEqual(env.volumes, ['./data:/data:ro', 'pip-cache:/root/.cache/pip', '/scratch/datasets:/datasets']);
    assert.deepEqual(env.ports, [8888, 6006]);
    assert.equal(env.user, 'vscode');
    assert.deepEqual(env.env, {
      NCCL_DEBUG: 'INFO',
      OMP_NUM_THREADS: '8',
      PROJECT_ROOT: '/workspaces/gpu-dockerfile',
      WANDB_API_KEY: '${env:WANDB_API_KEY:-}',
      HF_HOME: '${env:HF_HOME:-/root/.cache/huggingface}',
    });
    assert.deepEqual(env.on_create_command, { deps: 'pip install -e .[dev]', hooks: ['pre-commit', 'install'] });
    assert.deepEqual(env.post_create_command, ['python', '-m', 'pip', 'check']);
    assert.equal(env.post_start_command, 'nvidia-smi');
    const warned = warnings.join('\n');
    for (const expected of ['--ipc=host', '--cap-add=SYS_PTRACE', "mount type 'tmpfs'", '"db:5432"', 'remoteEnv.PATH']) assert.match(warned, new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.ok(notes.some((n) => n.includes("'customizations' ignored")));
    assert.ok(notes.some((n) => n.includes('hostRequirements.memory')));
  });

  it('records file:line:column origins for every produced key', async () => {
    const projectDir = join(FIXTURES, 'gpu-dockerfile');
    const { layer } = await importDevcontainer('.devcontainer/devcontainer.json', { projectDir });
    const at = (key: string) => { const o = layer.origins.get(key); return o && `${o.line}:${o.column}`; };
    assert.equal(at('project.name'), '3:11');
    assert.equal(at('environment.dockerfile.path'), '6:19');
    assert.equal(at('environment.dockerfile.context'), '7:16');
    assert.equal(at('environment.gpu_count'), '12:5', 'the --gpus runArgs item');
    assert.equal(at('environment.shm_size'), '13:5');
    assert.equal(at('environment.volumes[1]'), '22:5');
    assert.equal(at('environment.ports[1]'), '27:26');
    assert.equal(at('environment.env.WANDB_API_KEY'), '30:22');
    assert.equal(at('environment.on_create_command.hooks[1]'), '37:29');
    assert.equal(at('environment.gpus'), '41:32');
    assert.ok(at('environment'), 'containers have an origin too');
    for (const origin of layer.origins.values()) {
      assert.equal(origin.kind, 'devcontainer');
      assert.equal(origin.file, join(projectDir, '.devcontainer/devcontainer.json'));
    }
    assert.equal(typeof layer.source, 'string');
  });

  it('maps .devcontainer.json with image, appPort, containerUser and hostRequirements.gpu true', async () => {
    const { layer, warnings } = await importDevcontainer('.devcontainer.json', { projectDir: join(FIXTURES, 'image-basic') });
    assert.deepEqual(layer.value, {
      environment: {
        base_image: 'mcr.microsoft.com/devcontainers/python:3.12',
        ports: [8000, '3000:3000', 9000],
        env: { DEBUG: '1' },
        user: 'root',
        initialize_command: 'echo preparing',
        post_attach_command: 'echo attached',
        gpus: 'required',
      },
    });
    assert.deepEqual(warnings, []);
  });

  it('maps the legacy dockerFile + context and --x y runArgs', async () => {
    const { layer, notes } = await importDevcontainer('.devcontainer/devcontainer.json', { projectDir: join(FIXTURES, 'legacy') });
    assert.deepEqual(layer.value.environment, {
      dockerfile: { path: '.devcontainer/Dockerfile', context: '.' },
      gpus: 'required',
      gpu_count: 2,
      user: '1000:1000',
      ports: ['8080:80'],
      volumes: ['/mnt/models:/models:ro'],
    });
    assert.ok(notes.some((n) => n.includes('/mnt/models is a path on the remote host')));
    assert.ok(notes.some((n) => n.includes('cores/memory are not checked')));
  });

  it('maps a quoted --gpus device list to a count, with a warning', async () => {
    const { layer, warnings } = await importDevcontainer('.devcontainer/gpu/devcontainer.json', { projectDir: join(FIXTURES, 'multi') });
    assert.deepEqual(layer.value.environment, { base_image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime', gpus: 'required', gpu_count: 2 });
    assert.match(warnings.join('\n'), /GPU devices 0,1 cannot be pinned/);
  });
});

describe('devcontainer.json import: keys', () => {
  it('build paths are relative to the devcontainer.json folder and written project-relative', () => {
    const env = environment('{ "build": { "dockerfile": "Dockerfile" } }');
    assert.deepEqual(env.dockerfile, { path: '.devcontainer/Dockerfile', context: '.devcontainer' });
    const nested = environment('{ "build": { "dockerfile": "../docker/gpu.Dockerfile", "context": "../docker" } }', { file: '.devcontainer/gpu/devcontainer.json' });
    assert.deepEqual(nested.dockerfile, { path: '.devcontainer/docker/gpu.Dockerfile', context: '.devcontainer/docker' });
  });

  it('warns about a build context outside the project', () => {
    const { warnings } = load('{ "build": { "dockerfile": "Dockerfile", "context": "../.." } }');
    assert.match(warnings.join('\n'), /outside the project folder/);
  });

  it('a Dockerfile wins over image, with a warning', () => {
    const { layer, warnings } = load('{ "image": "python:3.12", "build": { "dockerfile": "Dockerfile" } }');
    assert.equal((layer.value.environment as Record<string, unknown>).base_image, undefined);
    assert.match(warnings[0]!, /both 'image' and a Dockerfile/);
  });

  it('maps every runArgs form', () => {
    const env = environment(JSON.stringify({
      runArgs: ['--gpus=3', '--shm-size', '2g', '-e', 'A=1', '--env', 'B=x=y', '-eC=2', '-v', '/data:/data', '--volume=cache:/cache',
        '--net=bridge', '-p', '6006:6006', '--publish=127.0.0.1:8888:8888/tcp', '-u', 'me'],
    }));
    assert.deepEqual(env, {
      gpus: 'required', gpu_count: 3, shm_size: '2g', env: { A: '1', B: 'x=y', C: '2' },
      volumes: ['/data:/data', 'cache:/cache'], network_mode: 'bridge', ports: ['6006:6006', '127.0.0.1:8888:8888/tcp'], user: 'me',
    });
  });

  it('lists dropped docker run arguments instead of dropping them silently', () => {
    const { layer, warnings } = load('{ "image": "x", "runArgs": ["--privileged", "--ulimit", "memlock=-1", "--ipc", "host"], "capAdd": ["SYS_ADMIN"], "init": true }');
    assert.deepEqual(layer.value.environment, { base_image: 'x' });
    const text = warnings.join('\n');
    assert.match(text, /'--privileged' dropped/);
    assert.match(text, /'--ulimit memlock=-1' dropped/);
    assert.match(text, /'--ipc=host' dropped/);
    assert.match(text, /'--cap-add=SYS_ADMIN' dropped/);
    assert.match(text, /'--init' dropped/);
  });

  it('maps mounts in string and object form', () => {
    const env = environment(JSON.stringify({
      mounts: [
        'source=${localWorkspaceFolder}/data,target=/data,type=bind,readonly',
        'type=volume,source=venv,target=/opt/venv',
        'src=/srv/models,dst=/models,type=bind,ro=true',
        { source: '${localEnv:HOME}/.cache/huggingface', target: '/root/.cache/huggingface', type: 'bind' },
        { type: 'volume', target: '/anonymous' },
      ],
    }), { localEnv: 'resolve', env: { HOME: '/home/me' } });
    assert.deepEqual(env.volumes, ['./data:/data:ro', 'venv:/opt/venv', '/srv/models:/models:ro', '/home/me/.cache/huggingface:/root/.cache/huggingface', '/anonymous']);
  });

  it('forwardPorts and appPort become ports', () => {
    const env = environment('{ "forwardPorts": [8888, "6006", "localhost:5000"], "appPort": 7000 }');
    assert.deepEqual(env.ports, [8888, 6006, 5000, 7000]);
  });

  it('containerEnv then remoteEnv (remoteEnv wins, null is skipped)', () => {
    const env = environment('{ "containerEnv": { "A": "1", "B": "2" }, "remoteEnv": { "B": "3", "C": null } }');
    assert.deepEqual(env.env, { A: '1', B: '3' });
  });

  it('remoteUser wins over containerUser, with a warning when they differ', () => {
    const { layer, warnings } = load('{ "remoteUser": "vscode", "containerUser": "root" }');
    assert.equal((layer.value.environment as Record<string, unknown>).user, 'vscode');
    assert.match(warnings.join('\n'), /containerUser "root" differs/);
  });

  it('lifecycle commands keep their string, array and object forms', () => {
    const env = environment(JSON.stringify({
      initializeCommand: ['echo', 'hi'],
      onCreateCommand: 'pip install -e .',
      postCreateCommand: { a: 'make', b: ['python', '-V'] },
      postStartCommand: 'cd ${containerWorkspaceFolder} && ls',
      postAttachCommand: 'echo ${HOME}',
    }));
    assert.deepEqual(env.initialize_command, ['echo', 'hi']);
    assert.equal(env.on_create_command, 'pip install -e .');
    assert.deepEqual(env.post_create_command, { a: 'make', b: ['python', '-V'] });
    assert.equal(env.post_start_command, 'cd /workspace && ls', 'mltoolbox\'s default workdir');
    assert.equal(env.post_attach_command, 'echo ${HOME}', 'shell variables are left alone');
  });

  it('hostRequirements.gpu: true, "optional", object, false', () => {
    assert.equal(environment('{ "hostRequirements": { "gpu": true } }').gpus, 'required');
    assert.equal(environment('{ "hostRequirements": { "gpu": "optional" } }').gpus, 'optional');
    assert.equal(environment('{ "hostRequirements": { "gpu": { "cores": 1000, "memory": "16gb" } } }').gpus, 'required');
    assert.equal(environment('{ "hostRequirements": { "gpu": false } }').gpus, undefined);
  });

  it('workspaceFolder and workspaceMount set project.workdir', () => {
    assert.deepEqual(load('{ "workspaceFolder": "/src/${localWorkspaceFolderBasename}" }').layer.value.project, { workdir: '/src/vision' });
    const viaMount = load('{ "workspaceMount": "source=${localWorkspaceFolder},target=/code,type=bind", "postCreateCommand": "ls ${containerWorkspaceFolderBasename}" }');
    assert.deepEqual(viaMount.layer.value.project, { workdir: '/code' });
    assert.equal((viaMount.layer.value.environment as Record<string, unknown>).post_create_command, 'ls code');
  });

  it('name becomes a folder-safe project.name', () => {
    assert.deepEqual(load('{ "name": "My Project (CUDA 12)" }').layer.value.project, { name: 'my-project-cuda-12' });
    assert.equal(projectSlug('  --Ünïcode only  '), 'unicode-only');
    assert.equal(load('{ "name": "!!!" }').layer.value.project, undefined);
  });
});

describe('devcontainer.json import: variables', () => {
  it('localEnv resolves now in resolve mode, with defaults and empty when unset', () => {
    const env = environment('{ "containerEnv": { "A": "${localEnv:TOKEN}", "B": "${localEnv:MISSING:fallback}", "C": "${localEnv:MISSING}" } }',
      { localEnv: 'resolve', env: { TOKEN: 't0k' } });
    assert.deepEqual(env.env, { A: 't0k', B: 'fallback', C: '' });
  });

  it('a resolved value is escaped so mltoolbox interpolation keeps it literal', () => {
    const env = environment('{ "containerEnv": { "A": "${localEnv:X}" } }', { localEnv: 'resolve', env: { X: 'a${secret:b}' } });
    assert.deepEqual(env.env, { A: 'a$${secret:b}' });
  });

  it('localEnv becomes an ${env:…} reference by default', () => {
    const env = environment('{ "containerEnv": { "A": "${localEnv:TOKEN}", "B": "${localEnv:X:dflt}" } }', { env: { TOKEN: 'never-baked' } });
    assert.deepEqual(env.env, { A: '${env:TOKEN:-}', B: '${env:X:-dflt}' });
  });

  it('localWorkspaceFolder and its basename', () => {
    const env = environment('{ "containerEnv": { "A": "${localWorkspaceFolder}", "B": "${localWorkspaceFolderBasename}" } }');
    assert.deepEqual(env.env, { A: PROJECT, B: 'vision' });
  });

  it('unknown ${scheme:…} variables are kept (escaped) with a warning', () => {
    const { layer, warnings } = load('{ "image": "x", "postCreateCommand": "echo ${devcontainerId} ${foo:bar}" }');
    assert.equal((layer.value.environment as Record<string, unknown>).post_create_command, 'echo ${devcontainerId} $${foo:bar}');
    assert.match(warnings[0]!, /\$\{devcontainerId\}/);
  });
});

describe('devcontainer.json import: errors', () => {
  it('dockerComposeFile is DEVCONTAINER_UNSUPPORTED with file:line:col (features are not)', async () => {
    const projectDir = join(FIXTURES, 'unsupported');
    await assert.rejects(importDevcontainer('.devcontainer/devcontainer.json', { projectDir }), (error: UserError) => {
      assert.equal(error.code, 'DEVCONTAINER_UNSUPPORTED');
      assert.match(error.message, /'dockerComposeFile'/);
      assert.doesNotMatch(error.message, /'features'/);
      const details = error.details.join('\n');
      assert.match(details, /\.devcontainer\/devcontainer\.json:3:3: 'dockerComposeFile'/);
      assert.ok(error.hint.length > 0);
      return true;
    });
  });


  it('a syntax error is CONFIG_UNREADABLE at its position', async () => {
    await assert.rejects(importDevcontainer('.devcontainer/devcontainer.json', { projectDir: join(FIXTURES, 'invalid') }), (error: UserError) => {
      assert.equal(error.code, 'CONFIG_UNREADABLE');
      assert.match(error.details[0]!, /^\.devcontainer\/devcontainer\.json:4:3: comma expected/);
      return true;
    });
  });

  it('a non-object document is CONFIG_UNREADABLE', () => {
    rejects('[1, 2]', 'CONFIG_UNREADABLE');
    rejects('', 'CONFIG_UNREADABLE');
  });

  it('wrong types are CONFIG_INVALID, all listed', () => {
    const error = rejects('{\n  "image": 3,\n  "runArgs": "--gpus all",\n  "postCreateCommand": 5\n}', 'CONFIG_INVALID');
    const details = error.details.join('\n');
    assert.match(details, /:2:12: 'image' must be a string/);
    assert.match(details, /:3:14: 'runArgs' must be an array/);
    assert.match(details, /:4:24: 'postCreateCommand' must be/);
  });

  it('a missing file is CONFIG_UNREADABLE', async () => {
    await assert.rejects(importDevcontainer('nope.json', { projectDir: FIXTURES }), { code: 'CONFIG_UNREADABLE' });
  });

  it('unknown keys are notes, not errors', () => {
    const { notes } = load('{ "image": "x", "somethingNew": 1, "customizations": {} }');
    assert.equal(notes.length, 2);
  });
});

describe('devcontainer.json import: features', () => {
  it('keeps each feature with its options and their positions; a string is the version option', () => {
    const { layer } = load('{\n  "image": "x",\n  "features": {\n    "ghcr.io/devcontainers/features/python:1": { "version": "3.11", "installTools": false },\n    "ghcr.io/devcontainers/features/node:1": "20",\n    "git": true\n  }\n}');
    const features = (layer.value.environment as Record<string, unknown>).features;
    assert.deepEqual(features, {
      'ghcr.io/devcontainers/features/python:1': { version: '3.11', installTools: false },
      'ghcr.io/devcontainers/features/node:1': '20',
      git: {},
    });
    assert.deepEqual(layer.origins.get('environment.features.ghcr.io/devcontainers/features/python:1.installTools'), { kind: 'devcontainer', file: `${PROJECT}/.devcontainer/devcontainer.json`, line: 4, column: 85 });
  });

  it('a local feature folder is re-expressed relative to the project folder, in overrideFeatureInstallOrder too', () => {
    const env = environment('{ "image": "x", "features": { "./local-feature": {}, "../tools/f": {} }, "overrideFeatureInstallOrder": ["./local-feature", "ghcr.io/a/b/c"] }');
    assert.deepEqual(Object.keys(env.features as object), ['./.devcontainer/local-feature', './tools/f']);
    assert.deepEqual(env.override_feature_install_order, ['./.devcontainer/local-feature', 'ghcr.io/a/b/c']);
  });

  it('${localEnv:…} in an option becomes an ${env:…} reference; false skips the feature with a note', () => {
    const { layer, notes } = load('{ "image": "x", "features": { "ghcr.io/a/b/c:1": { "token": "${localEnv:TOKEN}" }, "ghcr.io/a/b/d:1": false } }');
    assert.deepEqual((layer.value.environment as Record<string, unknown>).features, { 'ghcr.io/a/b/c:1': { token: '${env:TOKEN:-}' } });
    assert.match(notes.join('\n'), /'ghcr.io\/a\/b\/d:1' is set to false/);
  });

  it('a features value that is neither options nor a version is CONFIG_INVALID at its position', () => {
    const error = rejects('{\n  "image": "x",\n  "features": { "ghcr.io/a/b/c:1": 3 }\n}', 'CONFIG_INVALID');
    assert.match(error.details.join('\n'), /:3:36: feature 'ghcr.io\/a\/b\/c:1' takes an object of options/);
  });
});
