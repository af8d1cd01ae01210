import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, useHarness } from '../harness/index.ts';

describe('harness', async () => {
  const harness = await useHarness();

  it('a real sshd answers on loopback through the isolated ssh config', async () => {
    const result = await run('ssh', ['-F', harness.ssh.sshConfigFile, harness.ssh.alias, 'echo', 'hello-from-$(id -un)']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'hello-from-root\n');
  });

  it('ssh refuses a host key that is not in the isolated known_hosts', async () => {
    const sandbox = await createSandbox();
    const result = await run('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sandbox.path('empty_known_hosts')}`,
      '-o', 'StrictHostKeyChecking=yes', '-i', harness.ssh.identityFile, '-p', String(harness.ssh.port), 'root@127.0.0.1', 'true']);
    assert.equal(result.code, 255);
    assert.match(result.stderr, /Host key verification failed/);
  });

  it('the offline base image runs, and publishes ports on 127.0.0.1 only', async () => {
    const name = `mlt-harness-${process.pid}`;
    const started = await run('docker', ['run', '-d', '--rm', '--name', name, '-p', '127.0.0.1::8000', harness.docker.baseImage, 'sh', '-c', 'echo ok > /tmp/i; exec httpd -f -p 8000 -h /tmp']);
    assert.equal(started.code, 0, started.stderr);
    try {
      const port = await run('docker', ['port', name, '8000']);
      assert.match(port.stdout.trim(), /^127\.0\.0\.1:\d+$/);
      const who = await run('docker', ['exec', name, 'id', '-un']);
      assert.equal(who.stdout.trim(), 'root');
    } finally {
      await run('docker', ['rm', '-f', name]);
    }
  });

  it('runs the built binary in a sandbox', async () => {
    const sandbox = await createSandbox({ harness });
    const result = await runMltoolbox(['--version'], { env: sandbox.env, cwd: sandbox.projectDir });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
