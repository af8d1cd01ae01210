import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runProcess } from '../../../../src/infrastructure/process.ts';
import { evaluateHost } from '../../../../src/services/diagnostics/checks.ts';
import { installDockerCommand, parseHostFacts, restartDockerCommand, startDockerCommand } from '../../../../src/services/diagnostics/host-facts.ts';
import { buildProbeScript, newMarker, parseProbeOutput } from '../../../../src/services/diagnostics/probe.ts';
import type { Check } from '../../../../src/services/diagnostics/types.ts';

/**
 * Runs the real probe script with sh against a PATH of fake tools, so the
 * script, the parser and the checks are tested together without a host.
 */
const root = mkdtempSync(join(tmpdir(), 'mlt-probe-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SYSTEM_TOOLS = ['sh', 'uname', 'id', 'df', 'tail', 'grep', 'sleep', 'timeout', 'cat', 'head'];
const A10 = readFileSync(new URL('../../../fixtures/nvidia-smi/a10.csv', import.meta.url), 'utf8');

let hosts = 0;
function fakeHost(tools: Record<string, string>, options: { withTimeout?: boolean } = {}): string {
  const bin = join(root, `host${hosts++}`);
  mkdirSync(bin);
  for (const tool of SYSTEM_TOOLS) {
    if (tool === 'timeout' && options.withTimeout === false) continue;
    for (const dir of ['/usr/bin', '/bin']) {
      try {
        symlinkSync(join(dir, tool), join(bin, tool));
        break;
      } catch {
        // try the next folder
      }
    }
  }
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

async function probe(bin: string, options: { gpu?: boolean; dockerTimeoutS?: number; noise?: string } = {}) {
  const marker = newMarker();
  const script = buildProbeScript({ marker, gpu: options.gpu ?? true, ...(options.dockerTimeoutS ? { dockerTimeoutS: options.dockerTimeoutS } : {}) });
  const result = await runProcess(join(bin, 'sh'), ['-s'], { input: script, env: { PATH: bin, HOME: root }, timeoutMs: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  return parseProbeOutput((options.noise ?? '') + result.stdout, marker);
}

const byId = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c]));
const evaluate = (sections: Awaited<ReturnType<typeof probe>>['sections'], gpusRequired = false) =>
  byId(evaluateHost(sections, { connection: 'root@h:22', local: false, gpu: true, gpusRequired }));

const DOCKER_OK = `case "$1" in
  --version) echo "Docker version 27.0.3, build 7d4bcd8" ;;
  info) printf '27.0.3\\n{"io.containerd.runc.v2":{"path":"runc"},"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}\\n' ;;
esac`;
const RSYNC_OK = 'echo "rsync  version 3.2.7  protocol version 31"';

describe('doctor probe (run for real with sh and fake tools)', () => {
  it('a healthy GPU host: every check ok', async () => {
    const bin = fakeHost({
      docker: DOCKER_OK,
      rsync: RSYNC_OK,
      'nvidia-smi': `cat <<'EOF'\n${A10.trim().replace(/\n0,/, ', driver_version\n0,').replace(/150\.00 W$/m, '150.00 W, 550.54.15')}\nEOF`,
      'nvidia-ctk': 'exit 0',
    });
    const { sections, complete } = await probe(bin);
    assert.ok(complete);
    const checks = evaluate(sections);
    for (const check of Object.values(checks)) assert.equal(check.status, 'ok', `${check.id}: ${check.detail}`);
    assert.equal(checks['host.docker-daemon']!.detail, 'Docker Engine 27.0.3');
    assert.equal(checks['host.docker-cli']!.detail, 'docker 27.0.3, build 7d4bcd8');
    assert.equal(checks['host.rsync']!.detail, 'rsync 3.2.7');
    assert.equal(checks['gpu.driver']!.detail, 'NVIDIA A10 (22 GiB), driver 550.54.15');
    assert.match(checks['gpu.container-runtime']!.detail, /nvidia runtime registered in Docker; toolkit: nvidia-ctk/);
    assert.match(checks['host.disk']!.detail, /GiB free on /);
    assert.match(checks['host.os']!.detail, /Linux/);
    assert.equal(checks['host.connect']!.detail, 'root@h:22');
  });

  it('a bare host: no docker, no rsync, no NVIDIA — each with its fix', async () => {
    const { sections } = await probe(fakeHost({}));
    const checks = evaluate(sections);
    assert.equal(checks['host.docker-cli']!.status, 'fail');
    const facts = parseHostFacts(sections.get('facts'));
    // The probe reads the real /etc/os-release: the fix is this machine's install command, or the install guide.
    assert.equal(checks['host.docker-cli']!.fix, installDockerCommand(facts) ? `${installDockerCommand(facts)} (or let mltoolbox doctor HOST --fix do it)`.replace(/^/, 'on the host: ') : checks['host.docker-cli']!.fix);
    assert.match(checks['host.docker-cli']!.fix!, /apt-get install -y -qq docker\.io|dnf install|docs\.docker\.com/);
    assert.equal(checks['host.docker-daemon']!.status, 'skip');
    assert.equal(checks['host.rsync']!.status, 'fail');
    assert.match(checks['host.rsync']!.fix!, /apt-get install rsync/);
    assert.equal(checks['gpu.driver']!.status, 'warn');
    assert.match(checks['gpu.driver']!.detail, /no NVIDIA driver/);
    assert.equal(checks['gpu.container-runtime']!.status, 'warn');
    assert.match(checks['gpu.container-runtime']!.detail, /no NVIDIA runtime/);
    assert.match(checks['gpu.container-runtime']!.fix!, /nvidia-ctk runtime configure --runtime=docker/);
  });

  it('GPU checks fail instead of warn when the project requires GPUs', async () => {
    const { sections } = await probe(fakeHost({ docker: DOCKER_OK, rsync: RSYNC_OK }));
    const checks = evaluate(sections, true);
    assert.equal(checks['gpu.driver']!.status, 'fail');
  });

  it('docker socket permission denied: usermod fix naming the user', async () => {
    const bin = fakeHost({
      docker: `case "$1" in --version) echo "Docker version 24.0.7, build afdd53b";; info) echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \\"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/info\\": dial unix /var/run/docker.sock: connect: permission denied" >&2; exit 1;; esac`,
      rsync: RSYNC_OK,
    });
    const { sections } = await probe(bin, { gpu: false });
    const check = evaluate(sections)['host.docker-daemon']!;
    assert.equal(check.status, 'fail');
    const user = (await runProcess('id', ['-un'])).stdout.trim();
    assert.match(check.detail, new RegExp(`permission denied on the Docker socket for user ${user}`));
    // sudo only for a user who is not root.
    assert.match(check.fix!, new RegExp(`^on the host: ${process.getuid?.() === 0 ? '' : 'sudo '}usermod -aG docker ${user}, then`));
  });

  it('docker daemon installed but not running: the start command for this init system', async () => {
    const bin = fakeHost({
      docker: `case "$1" in --version) echo "Docker version 24.0.7";; info) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1;; esac`,
      dockerd: 'exit 0',
    });
    const { sections } = await probe(bin, { gpu: false });
    const facts = parseHostFacts(sections.get('facts'));
    assert.equal(facts.dockerd, true, 'the probe found the fake dockerd on PATH');
    assert.equal(facts.systemd, existsSync('/run/systemd/system'));
    const check = evaluate(sections)['host.docker-daemon']!;
    assert.match(check.detail, /^the Docker daemon is installed but not running/);
    assert.equal(check.fix, `on the host: ${startDockerCommand(facts)}`);
    if (!facts.systemd) assert.doesNotMatch(check.fix!, /systemctl/);
  });

  for (const withTimeout of [true, false]) {
    it(`a hung docker daemon is bounded (${withTimeout ? 'timeout(1)' : 'shell watchdog'})`, async () => {
      const bin = fakeHost({ docker: 'case "$1" in --version) echo "Docker version 24.0.7";; info) exec sleep 30;; esac' }, { withTimeout });
      const started = Date.now();
      const { sections, complete } = await probe(bin, { gpu: false, dockerTimeoutS: 1 });
      assert.ok(Date.now() - started < 10_000, 'the probe did not wait for the hung daemon');
      assert.ok(complete);
      const check = evaluate(sections)['host.docker-daemon']!;
      assert.equal(check.status, 'fail');
      assert.match(check.detail, /did not answer/);
      assert.equal(check.fix, `on the host: ${restartDockerCommand(parseHostFacts(sections.get('facts')))}`);
    });
  }

  it('nvidia-smi present but the driver not loaded: fail with the modprobe fix', async () => {
    const noDriver = readFileSync(new URL('../../../fixtures/nvidia-smi/no-driver.txt', import.meta.url), 'utf8');
    const bin = fakeHost({ 'nvidia-smi': `cat <<'EOF'\n${noDriver.trim()}\nEOF\nexit 9` });
    const check = evaluate((await probe(bin)).sections)['gpu.driver']!;
    assert.equal(check.status, 'fail');
    assert.match(check.fix!, /modprobe nvidia/);
  });

  it('--no-gpu leaves nvidia-smi out of the script entirely', () => {
    const script = buildProbeScript({ marker: '@@m', gpu: false });
    assert.ok(!script.includes('nvidia-smi'));
    assert.ok(buildProbeScript({ marker: '@@m', gpu: true }).includes('nvidia-smi --query-gpu='));
  });

  it('shell start-up noise around the report is ignored', async () => {
    const noise = 'Welcome!\n@@mlt-notours begin os\npyenv: command not found\n';
    const { sections } = await probe(fakeHost({ rsync: RSYNC_OK }), { gpu: false, noise });
    assert.match(sections.get('os')!.output, /Linux/);
    assert.ok(!sections.get('os')!.output.includes('pyenv'));
  });

  it('parseProbeOutput reports an incomplete run', () => {
    const partial = parseProbeOutput('\n@@x begin os\nLinux 6 x86_64\n\n@@x end os 0\n\n@@x begin disk\n', '@@x');
    assert.equal(partial.complete, false);
    assert.deepEqual([...partial.sections.keys()], ['os']);
  });
});
