import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createRecordingReporter } from '../../../../src/core/reporter.ts';
import { createDockerManager } from '../../../../src/services/containers/docker-manager.ts';
import { dockerExecCommand } from '../../../../src/services/containers/exec-command.ts';
import { EngineError } from '../../../../src/services/containers/engine-client.ts';
import type { ContainerSpec } from '../../../../src/services/containers/types.ts';
import { createFakeEngine, frame, type FakeEngine } from './fake-engine.ts';

const ENDPOINT = { where: 'on gpu-box', socketPath: '/tmp/mlt/docker.sock', remote: true };

function manager(engine: FakeEngine, toolVersion = '1.0.0') {
  const reporter = createRecordingReporter();
  return { manager: createDockerManager({ client: engine.client, endpoint: ENDPOINT, toolVersion, settleMs: 0, reporter }), reporter };
}

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return { project: 'proj', name: 'mlt-proj', image: 'img:1', command: ['sleep', 'infinity'], ...overrides };
}

function hasCode(code: string, check?: (error: UserError) => void) {
  return (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.hint.length > 0, 'every user error has a hint');
    check?.(error);
    return true;
  };
}

describe('ensureContainer', () => {
  it('creates, then reuses the same running container, then recreates when the spec changes', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    const first = await m.ensureContainer(spec());
    assert.equal(first.action, 'created');
    const second = await m.ensureContainer(spec());
    assert.equal(second.action, 'reused');
    assert.equal(second.id, first.id);
    assert.equal(engine.callsTo('createContainer').length, 1);
    const third = await m.ensureContainer(spec({ env: { A: '1' } }));
    assert.equal(third.action, 'recreated');
    assert.equal(third.reason, 'the configuration changed');
    assert.notEqual(third.id, first.id);
    assert.equal(engine.containers.size, 1);
  });

  it('labels what it creates and lets a spec add labels but not override its own', async () => {
    const engine = createFakeEngine();
    const result = await manager(engine).manager.ensureContainer(spec({ labels: { 'mltoolbox.test': '1', 'mltoolbox.project': 'evil' } }));
    const labels = engine.lastCreateBody()!.Labels;
    assert.deepEqual(labels, {
      'mltoolbox.test': '1',
      'mltoolbox.managed': 'true',
      'mltoolbox.project': 'proj',
      'mltoolbox.config-hash': result.configHash,
      'mltoolbox.version': '1.0.0',
    });
  });

  it('recreates when forced, when another mltoolbox version made it, or when the image was rebuilt', async () => {
    const engine = createFakeEngine();
    await manager(engine, '1.0.0').manager.ensureContainer(spec());
    assert.equal((await manager(engine, '1.0.0').manager.ensureContainer(spec(), { force: true })).reason, 'forced');
    const upgraded = await manager(engine, '1.1.0').manager.ensureContainer(spec());
    assert.equal(upgraded.action, 'recreated');
    assert.match(upgraded.reason!, /mltoolbox 1\.0\.0, this is 1\.1\.0/);
    engine.images.set('img:1', 'sha256:rebuilt');
    assert.equal((await manager(engine, '1.1.0').manager.ensureContainer(spec())).action, 'recreated');
  });

  it('starts a stopped matching container instead of recreating it', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    const created = await m.ensureContainer(spec());
    await m.stop(created.id);
    const again = await m.ensureContainer(spec());
    assert.equal(again.action, 'started');
    assert.equal(again.id, created.id);
  });

  it('rotating a secret recreates, and the value never reaches labels, logs or results', async () => {
    const engine = createFakeEngine();
    const { manager: m, reporter } = manager(engine);
    const a = await m.ensureContainer(spec({ secretEnv: { HF_TOKEN: 'hf_secret_one' } }));
    assert.deepEqual(engine.lastCreateBody()!.Env, ['HF_TOKEN=hf_secret_one'], 'secrets travel in the create body only');
    assert.equal((await m.ensureContainer(spec({ secretEnv: { HF_TOKEN: 'hf_secret_one' } }))).action, 'reused');
    const b = await m.ensureContainer(spec({ secretEnv: { HF_TOKEN: 'hf_secret_two' } }));
    assert.equal(b.action, 'recreated');
    assert.notEqual(a.configHash, b.configHash);
    const visible = JSON.stringify([engine.lastCreateBody()!.Labels, reporter.lines, a, b]);
    assert.doesNotMatch(visible, /hf_secret/);
  });

  it('publishes ports on 127.0.0.1 only and reports the host ports', async () => {
    const engine = createFakeEngine();
    const result = await manager(engine).manager.ensureContainer(spec({ ports: [{ container: 8888, host: 8888 }, { container: 6006 }, { container: 53, protocol: 'udp' }] }));
    const body = engine.lastCreateBody()!;
    assert.deepEqual(body.HostConfig.PortBindings, {
      '8888/tcp': [{ HostIp: '127.0.0.1', HostPort: '8888' }],
      '6006/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    assert.deepEqual(Object.keys(body.ExposedPorts!).sort(), ['53/udp', '6006/tcp', '8888/tcp']);
    assert.ok(result.ports.every((p) => p.hostIp === '127.0.0.1' && p.host > 0));
    assert.equal(result.ports.find((p) => p.container === 8888)?.host, 8888);
  });

  it('maps shm size, user, workdir, network, mounts and init into the create body', async () => {
    const engine = createFakeEngine();
    await manager(engine).manager.ensureContainer(spec({
      shmSize: '8g', user: '1000:1000', workdir: '/workspace', networkMode: 'host', init: true, ipc: 'host',
      mounts: [{ type: 'bind', source: '/srv/proj', target: '/workspace' }, { type: 'volume', source: 'cache', target: '/root/.cache', readOnly: true }],
      env: { B: '2', A: '1' },
    }));
    const body = engine.lastCreateBody()!;
    assert.equal(body.HostConfig.ShmSize, 8 * 1024 ** 3);
    assert.equal(body.HostConfig.NetworkMode, 'host');
    assert.equal(body.HostConfig.IpcMode, 'host');
    assert.equal(body.HostConfig.Init, true);
    assert.equal(body.User, '1000:1000');
    assert.equal(body.WorkingDir, '/workspace');
    assert.deepEqual(body.Env, ['A=1', 'B=2']);
    assert.deepEqual(body.HostConfig.Mounts, [
      { Type: 'bind', Source: '/srv/proj', Target: '/workspace' },
      { Type: 'volume', Source: 'cache', Target: '/root/.cache', ReadOnly: true },
    ]);
    assert.equal(body.HostConfig.DeviceRequests, undefined);
  });

  it('refuses a missing image without pulling or creating anything', async () => {
    const engine = createFakeEngine();
    await assert.rejects(manager(engine).manager.ensureContainer(spec({ image: 'pytorch/pytorch:2.5' })), hasCode('IMAGE_NOT_FOUND', (e) => {
      assert.match(e.message, /pytorch\/pytorch:2\.5.*on gpu-box/);
      assert.match(e.hint, /docker pull pytorch\/pytorch:2\.5/);
    }));
    assert.equal(engine.callsTo('createContainer').length, 0);
  });

  it('a bind source missing on the host: the hint says to sync first or fix the volume, not "fix the setting"', async () => {
    const engine = createFakeEngine();
    engine.client.createContainer = async () => {
      throw new EngineError('invalid mount config for type "bind": bind source path does not exist: /root/mltoolbox/proj-1', { statusCode: 400 });
    };
    await assert.rejects(manager(engine).manager.ensureContainer(spec()), hasCode('CONTAINER_START_FAILED', (e) => {
      assert.match(e.hint, /^\/root\/mltoolbox\/proj-1 does not exist on the engine's host: .*connect without --skip-sync, or mltoolbox sync.*environment\.volumes/);
    }));
  });

  it('never touches a same-named container of another project', async () => {
    const engine = createFakeEngine();
    await manager(engine).manager.ensureContainer(spec({ project: 'other' }));
    await assert.rejects(manager(engine).manager.ensureContainer(spec()), hasCode('CONTAINER_NAME_CONFLICT'));
    assert.equal(engine.callsTo('removeContainer').length, 0);
  });

  it('a busy port: PORT_BUSY naming the port, and the half-made container is removed', async () => {
    const engine = createFakeEngine();
    engine.hooks.onStart = () => {
      throw new EngineError('driver failed programming external connectivity on endpoint mlt-proj (abc): Bind for 127.0.0.1:8888 failed: port is already allocated', { statusCode: 500 });
    };
    await assert.rejects(manager(engine).manager.ensureContainer(spec({ ports: [{ container: 8888, host: 8888 }] })), hasCode('PORT_BUSY', (e) => {
      assert.match(e.message, /port 8888/);
      assert.deepEqual(e.data, { port: 8888 });
    }));
    assert.equal(engine.containers.size, 0);
  });

  it('a container that exits at once: CONTAINER_EXITED with its last output lines', async () => {
    const engine = createFakeEngine();
    engine.hooks.onStart = (c) => {
      c.status = 'exited';
      c.exitCode = 127;
      c.logs = Buffer.concat([frame(2, 'starting\n'), frame(2, 'sh: jupyter: not found\n')]);
    };
    await assert.rejects(manager(engine).manager.ensureContainer(spec()), hasCode('CONTAINER_EXITED', (e) => {
      assert.match(e.message, /exit code 127/);
      assert.deepEqual(e.details, ['starting', 'sh: jupyter: not found']);
    }));
  });

  it('connection failures become DOCKER_UNREACHABLE / DOCKER_PERMISSION_DENIED with the fix', async () => {
    const engine = createFakeEngine();
    engine.hooks.connectionError = new EngineError('connect ENOENT /tmp/mlt/docker.sock', { errno: 'ENOENT' });
    await assert.rejects(manager(engine).manager.ping(), hasCode('DOCKER_UNREACHABLE', (e) => assert.match(e.hint, /^mltoolbox doctor HOST says whether Docker is missing, stopped or refusing you/)));
    engine.hooks.connectionError = new EngineError('connect EACCES /var/run/docker.sock', { errno: 'EACCES' });
    await assert.rejects(manager(engine).manager.list(), hasCode('DOCKER_PERMISSION_DENIED', (e) => assert.match(e.hint, /usermod -aG docker/)));
  });
});

describe('GPUs', () => {
  const ALL = [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];

  it('with the nvidia runtime, sends the exact DeviceRequests for all, a count and device ids', async () => {
    const engine = createFakeEngine({ runtimes: ['runc', 'nvidia'] });
    const { manager: m } = manager(engine);
    await m.ensureContainer(spec({ gpus: { mode: 'required', count: 'all' } }));
    assert.deepEqual(engine.lastCreateBody()!.HostConfig.DeviceRequests, ALL);
    await m.ensureContainer(spec({ gpus: { mode: 'required', count: 2 } }));
    assert.deepEqual(engine.lastCreateBody()!.HostConfig.DeviceRequests, [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }]);
    await m.ensureContainer(spec({ gpus: { mode: 'optional', devices: ['0', '3'] } }));
    assert.deepEqual(engine.lastCreateBody()!.HostConfig.DeviceRequests, [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['0', '3'], Capabilities: [['gpu']] }]);
  });

  it('with CDI enabled (no nvidia runtime), GPUs are requested the same way', async () => {
    const engine = createFakeEngine({ cdi: true });
    await manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'required' } }));
    assert.deepEqual(engine.lastCreateBody()!.HostConfig.DeviceRequests, ALL);
  });

  it('required without a runtime: GPU_RUNTIME_MISSING with the exact fix, nothing created', async () => {
    const engine = createFakeEngine();
    await assert.rejects(manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'required' } })), hasCode('GPU_RUNTIME_MISSING', (e) => {
      const fix = e.details.join('\n');
      assert.match(fix, /apt-get install -y nvidia-container-toolkit/);
      assert.match(fix, /nvidia-ctk runtime configure --runtime=docker/);
      assert.match(fix, /systemctl restart docker/);
    }));
    assert.equal(engine.callsTo('createContainer').length, 0);
  });

  it('optional without a runtime: starts without DeviceRequests and warns', async () => {
    const engine = createFakeEngine();
    const result = await manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'optional', count: 'all' } }));
    assert.equal(result.action, 'created');
    assert.equal(engine.lastCreateBody()!.HostConfig.DeviceRequests, undefined);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]!, /without GPUs.*mltoolbox doctor gpu-box --fix installs the NVIDIA Container Toolkit/);
  });

  it('mode none and count 0 ask for no GPUs and do not even read engine info', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    await m.ensureContainer(spec({ gpus: { mode: 'none', count: 'all' } }));
    assert.equal(engine.lastCreateBody()!.HostConfig.DeviceRequests, undefined);
    assert.equal(engine.callsTo('info').length, 0);
    await m.ensureContainer(spec({ gpus: { mode: 'required', count: 0 } }));
    assert.equal(engine.lastCreateBody()!.HostConfig.DeviceRequests, undefined);
  });

  it('a runtime that looked ready but has no driver: optional retries without GPUs, required fails', async () => {
    const noDriver = (c: { body: { HostConfig: { DeviceRequests?: unknown[] } } }) => {
      if (c.body.HostConfig.DeviceRequests) throw new EngineError('could not select device driver "nvidia" with capabilities: [[gpu]]', { statusCode: 500 });
    };
    const optional = createFakeEngine({ cdi: true });
    optional.hooks.onStart = noDriver;
    const result = await manager(optional).manager.ensureContainer(spec({ gpus: { mode: 'optional' } }));
    assert.equal(result.action, 'created');
    assert.match(result.warnings.join('\n'), /without GPUs/);
    assert.equal(optional.containers.size, 1);
    assert.equal([...optional.containers.values()][0]!.body.HostConfig.DeviceRequests, undefined);

    const required = createFakeEngine({ cdi: true });
    required.hooks.onStart = noDriver;
    await assert.rejects(manager(required).manager.ensureContainer(spec({ gpus: { mode: 'required' } })), hasCode('GPU_RUNTIME_MISSING'));
    assert.equal(required.containers.size, 0);
  });

  describe('on Podman: CDI devices', () => {
    it('Podman: all GPUs, a count and device ids become exactly these CDI devices, created through the libpod API', async () => {
      const engine = createFakeEngine({ podman: '4.3.1' });
      const { manager: m } = manager(engine);
      await m.ensureContainer(spec({ gpus: { mode: 'required', count: 'all' } }));
      assert.deepEqual(engine.lastLibpodBody()!.devices, [{ path: 'nvidia.com/gpu=all' }]);
      await m.ensureContainer(spec({ gpus: { mode: 'required', count: 2 } }));
      assert.deepEqual(engine.lastLibpodBody()!.devices, [{ path: 'nvidia.com/gpu=0' }, { path: 'nvidia.com/gpu=1' }]);
      await m.ensureContainer(spec({ gpus: { mode: 'optional', devices: ['1', 'GPU-5a3c4e2f-aaaa-bbbb-cccc-0123456789ab', 'nvidia.com/gpu=3'] } }));
      assert.deepEqual(engine.lastLibpodBody()!.devices, [{ path: 'nvidia.com/gpu=1' }, { path: 'nvidia.com/gpu=GPU-5a3c4e2f-aaaa-bbbb-cccc-0123456789ab' }, { path: 'nvidia.com/gpu=3' }]);
      assert.equal(engine.callsTo('createContainer').length, 0, 'never through the Docker-compatible create, which drops CDI before Podman 5.5');
      assert.equal(engine.callsTo('createLibpodContainer').length, 3);
      // the recreated container carries the same labels (config hash) as one made through the Docker API
      assert.equal(typeof engine.lastLibpodBody()!.labels['mltoolbox.config-hash'], 'string');
    });

    it('Podman without GPUs: the Docker-compatible create, as before', async () => {
      const engine = createFakeEngine({ podman: '4.3.1' });
      await manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'none' } }));
      assert.equal(engine.callsTo('createLibpodContainer').length, 0);
      assert.equal(engine.callsTo('createContainer').length, 1);
    });

    it('no CDI spec on the host: required fails with GPU_CDI_SPEC_MISSING and the nvidia-ctk command, nothing left behind', async () => {
      const engine = createFakeEngine({ podman: '4.3.1' });
      engine.hooks.onStart = (c) => {
        if (c.libpod?.devices) throw new EngineError('setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=all', { statusCode: 500 });
      };
      await assert.rejects(manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'required' } })), hasCode('GPU_CDI_SPEC_MISSING', (e) => {
        assert.match(e.message, /no CDI spec on gpu-box defines nvidia\.com\/gpu=all/);
        assert.match(e.hint, /sudo nvidia-ctk cdi generate --output=\/etc\/cdi\/nvidia\.yaml/);
        assert.match(e.hint, /mltoolbox doctor gpu-box --fix/);
      }));
      assert.equal(engine.containers.size, 0);
    });

    it('no CDI spec, checked when creating: optional starts again without GPUs (through the Docker API) and says why', async () => {
      const engine = createFakeEngine({ podman: '5.6.0' });
      engine.client.createLibpodContainer = async (body) => {
        throw new EngineError(`unresolvable CDI devices ${body.devices?.map((d) => d.path).join(', ')}`, { statusCode: 500 });
      };
      const result = await manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'optional', count: 1 } }));
      assert.equal(result.action, 'created');
      assert.equal(engine.lastCreateBody()!.HostConfig.DeviceRequests, undefined);
      assert.match(result.warnings.join('\n'), /started without GPUs: no CDI spec on gpu-box.*nvidia-ctk cdi generate/);
    });

    it('Podman older than 4.1 (no CDI at all): required is refused before anything is created, optional warns', async () => {
      const engine = createFakeEngine({ podman: '3.4.4' });
      await assert.rejects(manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'required' } })), hasCode('GPU_CDI_UNSUPPORTED', (e) => {
        assert.match(e.message, /Podman 3\.4\.4 on gpu-box/);
        assert.match(e.hint, /4\.1 or newer.*environment\.engine: docker.*environment\.gpus: optional/);
      }));
      assert.equal(engine.callsTo('createContainer').length + engine.callsTo('createLibpodContainer').length, 0);
      const result = await manager(engine).manager.ensureContainer(spec({ gpus: { mode: 'optional' } }));
      assert.equal(engine.lastCreateBody()!.HostConfig.DeviceRequests, undefined);
      assert.match(result.warnings[0]!, /without GPUs: Podman 3\.4\.4/);
    });
  });

  it('ping reports whether the engine is GPU-ready', async () => {
    assert.equal((await manager(createFakeEngine({ runtimes: ['runc', 'nvidia'] })).manager.ping()).gpuReady, true);
    const plain = await manager(createFakeEngine()).manager.ping();
    assert.deepEqual(plain, { version: '27.0.0', apiVersion: '1.46', runtimes: ['runc'], gpuReady: false });
  });
});

describe('exec, logs, stop, remove, list', () => {
  it('exec passes stdout, stderr and a non-zero exit code through, with env/user/workdir in the exec body', async () => {
    const engine = createFakeEngine();
    engine.hooks.exec = (cmd, stdin) => ({ stdout: `ran ${cmd.join(' ')} <${stdin}>\n`, stderr: 'warn\n', exitCode: 3 });
    const { manager: m } = manager(engine);
    const { id } = await m.ensureContainer(spec());
    const result = await m.exec(id, ['python', 'train.py'], { env: { SEED: '1' }, user: 'dev', workdir: '/workspace', stdin: 'data' });
    assert.deepEqual(result, { exitCode: 3, stdout: 'ran python train.py <data>\n', stderr: 'warn\n' });
    assert.deepEqual(engine.callsTo('createExec')[0]!.args[1], {
      Cmd: ['python', 'train.py'], Env: ['SEED=1'], User: 'dev', WorkingDir: '/workspace', Tty: false, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    });
  });

  it('an aborted exec stops waiting and drops the connection', async () => {
    const engine = createFakeEngine();
    engine.hooks.execHangs = true;
    const { manager: m } = manager(engine);
    const { id } = await m.ensureContainer(spec());
    const controller = new AbortController();
    const pending = m.exec(id, ['sleep', '1000'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await assert.rejects(pending, hasCode('INTERRUPTED'));
  });

  it('exec in a missing or stopped container says so', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    await assert.rejects(m.exec('nope', ['true']), hasCode('CONTAINER_NOT_FOUND'));
    const { id } = await m.ensureContainer(spec());
    await m.stop(id);
    await assert.rejects(m.exec(id, ['true']), hasCode('CONTAINER_NOT_RUNNING'));
  });

  it('logs demultiplexes stdout and stderr', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    const { id } = await m.ensureContainer(spec());
    engine.containers.get(id)!.logs = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]);
    const chunks: string[] = [];
    await m.logs(id, { tail: 10 }, (c) => chunks.push(`${c.stream}:${c.data.toString()}`));
    assert.deepEqual(chunks, ['stdout:out\n', 'stderr:err\n']);
    assert.deepEqual(engine.callsTo('containerLogs')[0]!.args[1], { follow: false, timestamps: false, tail: 10 });
  });

  it('stop and remove are idempotent; inspect of a missing container is undefined', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    const { id } = await m.ensureContainer(spec());
    await m.stop(id);
    await m.stop(id);
    assert.equal((await m.inspect(id))?.running, false);
    await m.remove(id);
    await m.remove(id);
    await m.stop(id);
    assert.equal(await m.inspect(id), undefined);
  });

  it('list filters by project through labels', async () => {
    const engine = createFakeEngine();
    const { manager: m } = manager(engine);
    await m.ensureContainer(spec());
    await m.ensureContainer(spec({ project: 'other', name: 'mlt-other' }));
    const mine = await m.list({ project: 'proj' });
    assert.deepEqual(mine.map((c) => [c.name, c.project, c.state]), [['mlt-proj', 'proj', 'running']]);
    assert.deepEqual(engine.callsTo('listContainers').at(-1)!.args[0], { all: true, filters: { label: ['mltoolbox.managed=true', 'mltoolbox.project=proj'] } });
    assert.equal((await m.list()).length, 2);
  });
});

describe('build', () => {
  it('reports a failed step with its last output lines', async () => {
    const engine = createFakeEngine();
    engine.client.build = async (context) => {
      context.resume();
      const { Readable } = await import('node:stream');
      return Readable.from([
        '{"stream":"Step 1/2 : FROM img:1\\n"}\r\n{"stream":" ---\\u003e 61e2\\n"}\r\n',
        '{"stream":"Step 2/2 : RUN make\\n"}\r\n{"stream":"make: *** No rule to make target\\n"}\r\n',
        '{"errorDetail":{"code":2,"message":"The command \'/bin/sh -c make\' returned a non-zero code: 2"},"error":"The command \'/bin/sh -c make\' returned a non-zero code: 2"}\r\n',
      ]);
    };
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'mlt-build-'));
    try {
      await writeFile(join(dir, 'Dockerfile'), 'FROM img:1\nRUN make\n');
      const lines: string[] = [];
      await assert.rejects(manager(engine).manager.build({ context: dir, tag: 'mlt/x:1' }, (l) => lines.push(l)), hasCode('IMAGE_BUILD_FAILED', (e) => {
        assert.match(e.message, /non-zero code: 2 \(at Step 2\/2 : RUN make\)/);
        assert.deepEqual(e.details.slice(-2), ['Step 2/2 : RUN make', 'make: *** No rule to make target']);
      }));
      assert.equal(lines[0], 'Step 1/2 : FROM img:1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing context or Dockerfile is BUILD_CONTEXT_INVALID', async () => {
    const engine = createFakeEngine();
    await assert.rejects(manager(engine).manager.build({ context: '/nonexistent/ctx', tag: 't' }), hasCode('BUILD_CONTEXT_INVALID'));
    assert.equal(engine.callsTo('build').length, 0);
  });
});

describe('interactiveCommand', () => {
  it('is docker exec with -i/-t/-w/-u/-e as asked, then the id and the argv as words', async () => {
    const { manager: docker } = manager(createFakeEngine());
    assert.deepEqual(await docker.interactiveCommand('c1', ['sh', '-c', 'echo "$HOME"'], { tty: true, stdin: true, workdir: '/workspace', user: '1000' }),
      ['docker', 'exec', '-i', '-t', '-w', '/workspace', '-u', '1000', 'c1', 'sh', '-c', 'echo "$HOME"']);
    assert.deepEqual(await docker.interactiveCommand('c1', ['true'], { tty: false, stdin: false }), ['docker', 'exec', 'c1', 'true']);
    assert.deepEqual(await docker.interactiveCommand('c1', ['true'], { tty: false, stdin: false, env: { MLTOOLBOX_EXEC_ID: '1-ab' } }),
      ['docker', 'exec', '-e', 'MLTOOLBOX_EXEC_ID=1-ab', 'c1', 'true']);
  });

  it('on an engine at another socket: the host\'s docker CLI (-H) when it has one, else Podman\'s own (--url), run for real with sh', async () => {
    const argv = dockerExecCommand('/run/user/1000/podman/podman.sock', 'c1', ['sh', '-c', 'echo "$1 it\'s"', 'sh', 'a b'], { tty: false, stdin: true, env: { K: 'v w' } });
    assert.equal(argv[0], 'sh');
    const dir = mkdtempSync(join(tmpdir(), 'mlt-engine-cli-'));
    try {
      // Fake CLIs that print the words they were given, one per line.
      for (const cli of ['docker', 'podman']) {
        mkdirSync(join(dir, cli));
        writeFileSync(join(dir, cli, cli), `#!/bin/sh\necho ${cli}; for a in "$@"; do echo "$a"; done\n`, { mode: 0o755 });
      }
      mkdirSync(join(dir, 'bin'));
      symlinkSync('/bin/sh', join(dir, 'bin', 'sh'));
      const words = ['exec', '-i', '-e', 'K=v w', 'c1', 'sh', '-c', 'echo "$1 it\'s"', 'sh', 'a b'];
      const runOn = (path: string) => execFileSync('/bin/sh', ['-c', 'exec "$@"', 'sh', ...argv], { env: { PATH: path }, encoding: 'utf8' }).trimEnd().split('\n');
      assert.deepEqual(runOn(`${join(dir, 'bin')}:${join(dir, 'docker')}:${join(dir, 'podman')}`), ['docker', '-H', 'unix:///run/user/1000/podman/podman.sock', ...words]);
      assert.deepEqual(runOn(`${join(dir, 'bin')}:${join(dir, 'podman')}`), ['podman', '--url', 'unix:///run/user/1000/podman/podman.sock', ...words], 'a Podman-only host has no docker CLI');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
