import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { createContainerBody, gpuDeviceRequests, libpodCreateBody, parseSize } from '../../../../src/services/containers/create-body.ts';

const invalid = (error: unknown) => error instanceof UserError && error.code === 'CONTAINER_SPEC_INVALID';

describe('parseSize', () => {
  it('reads docker sizes in binary units', () => {
    assert.equal(parseSize('8g'), 8 * 1024 ** 3);
    assert.equal(parseSize('8G'), 8 * 1024 ** 3);
    assert.equal(parseSize('512m'), 512 * 1024 ** 2);
    assert.equal(parseSize('512mb'), 512 * 1024 ** 2);
    assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseSize('64k'), 65536);
    assert.equal(parseSize('1024'), 1024);
    assert.equal(parseSize(2048), 2048);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'lots', '8x', '-1g', -1, 1.5]) {
      assert.throws(() => parseSize(bad), invalid, String(bad));
    }
  });
});

describe('gpuDeviceRequests', () => {
  it('maps all, a count, and device ids like docker --gpus', () => {
    assert.deepEqual(gpuDeviceRequests({ count: 'all' }), [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({}), [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({ count: 1 }), [{ Driver: 'nvidia', Count: 1, Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({ devices: ['GPU-1234'] }), [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['GPU-1234'], Capabilities: [['gpu']] }]);
    assert.deepEqual(gpuDeviceRequests({ count: 0 }), []);
  });
});

describe('createContainerBody', () => {
  it('is minimal for a minimal spec', () => {
    assert.deepEqual(createContainerBody({ spec: { project: 'p', name: 'n', image: 'img' }, labels: { a: 'b' }, deviceRequests: [] }), {
      Image: 'img',
      Labels: { a: 'b' },
      HostConfig: {},
    });
  });
  it('lets a secret win over a plain variable of the same name', () => {
    const body = createContainerBody({ spec: { project: 'p', name: 'n', image: 'img', env: { T: 'plain' }, secretEnv: { T: 'secret' } }, labels: {}, deviceRequests: [] });
    assert.deepEqual(body.Env, ['T=secret']);
  });
});

describe('libpodCreateBody', () => {
  it('is the same container in Podman spec-generator fields, CDI devices as `devices` (podman run --device)', () => {
    const body = createContainerBody({
      spec: {
        project: 'p', name: 'n', image: 'img:1', command: ['sleep', 'infinity'], entrypoint: ['/bin/sh', '-c'], env: { A: '1=2', B: '' }, secretEnv: { S: 's' },
        user: '1000:1000', workdir: '/w', hostname: 'h',
        mounts: [{ type: 'bind', source: '/src', target: '/w' }, { type: 'bind', source: '/ro', target: '/ro', readOnly: true }, { type: 'volume', source: 'cache', target: '/c' }, { type: 'tmpfs', target: '/t' }],
        ports: [{ container: 8888 }, { container: 6006, host: 16006, protocol: 'udp' }],
        networkMode: 'none', ipc: 'host', shmSize: '1g', init: true, capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined', 'label=disable', 'apparmor=unconfined', 'no-new-privileges'],
      },
      labels: { 'mltoolbox.project': 'p' },
      deviceRequests: [{ Driver: 'cdi', DeviceIDs: ['nvidia.com/gpu=0', 'nvidia.com/gpu=1'] }],
    });
    assert.deepEqual(libpodCreateBody('n', body), {
      name: 'n',
      image: 'img:1',
      command: ['sleep', 'infinity'],
      entrypoint: ['/bin/sh', '-c'],
      env: { A: '1=2', B: '', S: 's' },
      labels: { 'mltoolbox.project': 'p' },
      user: '1000:1000',
      work_dir: '/w',
      hostname: 'h',
      mounts: [
        { destination: '/w', type: 'bind', source: '/src', options: ['rbind'] },
        { destination: '/ro', type: 'bind', source: '/ro', options: ['rbind', 'ro'] },
        { destination: '/t', type: 'tmpfs', source: 'tmpfs' },
      ],
      volumes: [{ Name: 'cache', Dest: '/c', Options: [] }],
      portmappings: [{ host_ip: '127.0.0.1', container_port: 8888, protocol: 'tcp' }, { host_ip: '127.0.0.1', container_port: 6006, host_port: 16006, protocol: 'udp' }],
      netns: { nsmode: 'none' },
      ipcns: { nsmode: 'host' },
      shm_size: 1024 ** 3,
      init: true,
      cap_add: ['SYS_PTRACE'],
      seccomp_profile_path: 'unconfined',
      selinux_opts: ['disable'],
      apparmor_profile: 'unconfined',
      no_new_privileges: true,
      devices: [{ path: 'nvidia.com/gpu=0' }, { path: 'nvidia.com/gpu=1' }],
    });
  });

  it('is minimal for a minimal spec; a named network joins it; container: namespaces keep their target', () => {
    assert.deepEqual(libpodCreateBody('n', createContainerBody({ spec: { project: 'p', name: 'n', image: 'img' }, labels: {}, deviceRequests: [] })), { name: 'n', image: 'img', labels: {} });
    const named = libpodCreateBody('n', createContainerBody({ spec: { project: 'p', name: 'n', image: 'img', networkMode: 'mlt-net', ipc: 'container:abc' }, labels: {}, deviceRequests: [] }));
    assert.deepEqual([named.netns, named.Networks, named.ipcns], [{ nsmode: 'bridge' }, { 'mlt-net': {} }, { nsmode: 'container', value: 'abc' }]);
  });

  it('refuses what Podman cannot take instead of dropping it', () => {
    const withOpt = createContainerBody({ spec: { project: 'p', name: 'n', image: 'img', securityOpt: ['systempaths=unconfined'] }, labels: {}, deviceRequests: [] });
    assert.throws(() => libpodCreateBody('n', withOpt), invalid);
    const nvidia = createContainerBody({ spec: { project: 'p', name: 'n', image: 'img' }, labels: {}, deviceRequests: gpuDeviceRequests({ count: 'all' }) });
    assert.throws(() => libpodCreateBody('n', nvidia), invalid);
  });
});
