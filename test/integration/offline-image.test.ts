import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSandbox, run, runMltoolbox, useHarness, type Sandbox } from '../harness/index.ts';

/**
 * The README's main job where no registry is reachable: `connect local` with
 * nothing configured gets the offline default image (debootstrap from this
 * machine's apt mirror), a real Debian with Python and bash. Built once per
 * machine: the tag is a hash of its inputs.
 */
const BUILD_TIMEOUT_MS = 20 * 60_000;

describe('offline images: image bootstrap and the offline default', async () => {
  const harness = await useHarness();
  let sandbox: Sandbox;
  let tag: string;
  const mlt = (args: string[], cwd?: string) => runMltoolbox(args, { env: sandbox.env, cwd: cwd ?? sandbox.projectDir, timeoutMs: BUILD_TIMEOUT_MS });

  before(async () => {
    sandbox = await createSandbox({ harness });
    await writeFile(join(sandbox.projectDir, 'train.py'), 'import sys\nprint("trained on", sys.version_info.major)\n');
    // The default request, as connect makes it: built here on a fresh machine, found again otherwise.
    const first = await mlt(['image', 'bootstrap', '--json']);
    assert.equal(first.code, 0, first.stderr);
    tag = JSON.parse(first.stdout).result.tag;
  }, { timeout: BUILD_TIMEOUT_MS });

  after(async () => {
    await mlt(['down', 'local']);
  });

  it('a second bootstrap with the same request finds the image by its content tag', async () => {
    const second = await mlt(['image', 'bootstrap', '--packages', 'python3-venv,python3,ca-certificates', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const result = JSON.parse(second.stdout).result;
    assert.match(result.tag, /^mltoolbox\/bootstrap:bookworm-[0-9a-f]{12}$/);
    assert.equal(result.tag, tag, 'same packages in another order: the same image');
    assert.equal(result.action, 'cached');
    assert.deepEqual(result.packages, ['ca-certificates', 'python3', 'python3-venv']);
    const label = await run('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "dev.mltoolbox.bootstrap"}}', tag], { env: sandbox.env });
    assert.equal(label.stdout.trim(), 'debian:bookworm ca-certificates,python3,python3-venv');
  });

  it('connect local with no image configured and no registry uses the offline default, with Python and bash', async () => {
    const connect = await mlt(['connect', 'local', '--no-attach', '--json']);
    assert.equal(connect.code, 0, connect.stderr);
    const result = JSON.parse(connect.stdout).result;
    assert.equal(result.imageAction, 'offline-default');
    assert.equal(result.image, tag);
    assert.match(connect.stderr, /default image pytorch\/pytorch\S* is not here and pulling is off.*offline default/);
    const exec = await mlt(['exec', 'local', '--', 'bash', '-c', 'python3 /workspace/train.py && python3 -m venv /tmp/v && /tmp/v/bin/pip --version && echo "$BASH_VERSION"']);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /^trained on 3$/m);
    assert.match(exec.stdout, /^pip \d+/m);
    assert.match(exec.stdout, /^5\.\d+/m);
  });

  it('the shell of the main job runs in it: connect attaches a login shell that reads stdin', async () => {
    const shell = await runMltoolbox(['connect', 'local'], { env: sandbox.env, cwd: sandbox.projectDir, input: 'python3 -c "print(6*7)"\nexit 3\n', timeoutMs: 120_000 });
    assert.equal(shell.code, 3, shell.stderr);
    assert.match(shell.stdout, /^42$/m);
  });

  it('an image the user configured is never swapped for the offline default', async () => {
    await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), 'version: 1\nenvironment:\n  base_image: mltoolbox-test/not-here:1\n');
    try {
      const connect = await mlt(['connect', 'local', '--no-attach', '--json']);
      assert.notEqual(connect.code, 0);
      assert.equal(JSON.parse(connect.stdout).error.code, 'IMAGE_NOT_FOUND');
      assert.doesNotMatch(connect.stderr, /offline default/);
    } finally {
      await writeFile(join(sandbox.projectDir, 'mltoolbox.yaml'), 'version: 1\n');
    }
  });
});
