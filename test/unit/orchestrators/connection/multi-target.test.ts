import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import type { ProjectSession } from '../../../../src/orchestrators/connection/connection-orchestrator.ts';
import { workerTargets } from '../../../../src/orchestrators/connection/connect.ts';
import { configuredWorkers } from '../../../../src/plugins/ray/index.ts';
import { planContainer } from '../../../../src/orchestrators/connection/container-plan.ts';
import { projectIdentity } from '../../../../src/orchestrators/connection/project-identity.ts';
import { createConnectionHooks } from '../../../../src/orchestrators/plugins/connection-hooks.ts';
import { createPluginHost } from '../../../../src/orchestrators/plugins/plugin-host.ts';
import type { ClusterInfo, HookPayloads, Plugin, PluginContext } from '../../../../src/plugin-api/index.ts';
import type { LoadedConfig } from '../../../../src/services/config/loader.ts';
import type { ContainerManager, EnsureResult } from '../../../../src/services/containers/types.ts';
import type { SyncSummary } from '../../../../src/services/sync/types.ts';

type Config = LoadedConfig['config'];
const config = (extra: Record<string, unknown>) => ({
  project: { name: 'model', workdir: '/workspace' },
  environment: { env: {}, volumes: [], ports: [8888], gpu_count: 'all', gpus: 'optional', shm_size: '8g', base_image: 'img' },
  ...extra,
}) as unknown as Config;

describe('connect targets: head and workers', () => {
  it('workers come from the command line, else from the plugins (Ray: ray.workers when enabled)', () => {
    const ray = { ray: { enabled: true, workers: [{ target: 'gpu-b' }, { target: 'gpu-c', num_gpus: 2 }] } };
    assert.deepEqual(workerTargets('gpu-a', ['gpu-x'], configuredWorkers(ray)), ['gpu-x']);
    assert.deepEqual(workerTargets('gpu-a', [], configuredWorkers(ray)), ['gpu-b', 'gpu-c']);
    assert.deepEqual(workerTargets('gpu-a', undefined, configuredWorkers({ ray: { ...ray.ray, enabled: false } })), []);
    assert.deepEqual(configuredWorkers({}), []);
  });

  it('the head is never its own worker, and a worker is started once', () => {
    assert.deepEqual(workerTargets('gpu-a', ['gpu-b', 'gpu-a', 'gpu-b'], []), ['gpu-b']);
  });

  it('a worker container has its own name and publishes nothing; the head plan is unchanged', () => {
    const identity = projectIdentity('/home/me/model', 'model');
    const input = { config: config({}), identity, workspaceSource: '/root/mltoolbox/x', secretRefs: [], extraPorts: [{ local: 9000, container: 9000, protocol: 'tcp' as const }], projectDir: '/home/me/model' };
    const head = planContainer(input);
    const worker = planContainer({ ...input, role: 'worker' });
    assert.equal(head.spec.name, `mlt-${identity.slug}`);
    assert.deepEqual(planContainer({ ...input, role: 'head' }).spec, head.spec);
    assert.equal(worker.spec.name, `mlt-${identity.slug}-worker`);
    assert.deepEqual(head.spec.ports, [{ container: 8888, protocol: 'tcp' }, { container: 9000, protocol: 'tcp' }]);
    assert.deepEqual(worker.spec.ports, []);
    assert.deepEqual(worker.forwards, []);
    assert.equal(worker.spec.project, head.spec.project, 'same project: same folder, same image');
  });
});

describe('connection hooks: role, cluster and afterFetch reach plugins', () => {
  const cluster: ClusterInfo = { head: { target: 'gpu-a', address: '10.0.0.1' }, workers: ['gpu-b'] };

  async function setup(hooks: Plugin['hooks']) {
    const plugin: Plugin = { name: 'rec', version: '1.0.0', apiVersion: '1.1', hooks };
    const host = createPluginHost({
      builtins: async () => [plugin],
      pluginsDir: '/nonexistent/plugins',
      projectDir: '/tmp/demo',
      homeDir: '/tmp',
      env: {},
      reporter: createRecordingReporter(),
      secrets: async () => ({ get: async () => undefined }),
      packageDirs: [],
    });
    await host.configSections({ plugins: ['rec'] });
    assert.equal(host.active().length, 1);
    const execs: string[][] = [];
    const containers = { exec: async (_id: string, argv: readonly string[]) => (execs.push([...argv]), { exitCode: 0, stdout: '', stderr: '' }) } as unknown as ContainerManager;
    const session = {
      place: { name: 'gpu-b', host: { name: 'gpu-b', local: false }, containers, warmUp: () => {}, close: async () => {} },
      loaded: { config: config({ project: { name: 'demo' } }) } as unknown as LoadedConfig,
      identity: projectIdentity('/tmp/demo', 'demo'),
      projectId: 1,
      state: {} as ProjectSession['state'],
      workspaceSource: '/root/mltoolbox/demo',
      role: 'worker',
      cluster,
    } as unknown as ProjectSession;
    return { hooks: createConnectionHooks(async () => host, { projectDir: '/tmp/demo', command: 'connect' }), session, execs };
  }

  it('containerStart of a worker sees role worker, the cluster and its container', async () => {
    const seen: { project?: PluginContext['project']; cluster?: ClusterInfo | undefined; container?: string | undefined } = {};
    const { hooks, session, execs } = await setup({
      containerStart: async (_payload, context) => {
        seen.project = context.project;
        seen.cluster = context.cluster;
        seen.container = context.container?.name;
        await context.container?.exec(['true']);
      },
    });
    const ensured: EnsureResult = { id: 'c2', name: 'mlt-demo-worker', action: 'created', configHash: 'h', warnings: [], ports: [] };
    await hooks.containerStart(session, ensured, 'img');
    assert.equal(seen.project?.role, 'worker');
    assert.equal(seen.project?.target, 'gpu-b');
    assert.deepEqual(seen.cluster, cluster);
    assert.ok(Object.isFrozen(seen.cluster), 'plugins get a frozen copy');
    assert.equal(seen.container, 'mlt-demo-worker');
    assert.deepEqual(execs, [['true']]);
  });

  it('afterFetch gets target, paths, folders and the summary, with the running container', async () => {
    let payload: HookPayloads['afterFetch'] | undefined;
    let container: string | undefined;
    const { hooks, session } = await setup({ afterFetch: (p, context) => void ((payload = p), (container = context.container?.name)) });
    const summary = { filesTransferred: 2, bytes: 10, deleted: 0, durationMs: 5 } as SyncSummary;
    const fetch = { target: 'gpu-b', paths: ['outputs/'], localDir: '/tmp/demo', remoteDir: '/root/mltoolbox/demo' };
    await hooks.afterFetch(session, fetch, summary, async () => ({ id: 'c2', name: 'mlt-demo' }));
    assert.deepEqual(payload, { fetch, result: { filesTransferred: 2, bytes: 10, deleted: 0, durationMs: 5 } });
    assert.equal(container, 'mlt-demo');
  });

  it('afterFetch never looks for the container when no plugin has the hook', async () => {
    const { hooks, session } = await setup({ beforeSync: () => {} });
    let asked = false;
    await hooks.afterFetch(session, { target: 'gpu-b', paths: ['x'], localDir: '/l', remoteDir: '/r' }, {} as SyncSummary, async () => ((asked = true), undefined));
    assert.equal(asked, false);
  });
});
