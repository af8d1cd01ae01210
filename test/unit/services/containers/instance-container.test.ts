import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInstanceContainerManager } from '../../../../src/services/containers/instance-container.ts';
import { parseTarget } from '../../../../src/services/ssh/target.ts';
import type { SshService } from '../../../../src/services/ssh/types.ts';

describe('instance container: interactive command', () => {
  const manager = createInstanceContainerManager({ ssh: {} as SshService, target: parseTarget('pod'), name: 'pod', image: 'img' });
  const inWorkdir = ['sh', '-c', 'cd "$0" 2>/dev/null || cd; exec "$@"', '/workspace'];

  it('runs argv in the workdir; variables (an exec\'s MLTOOLBOX_EXEC_ID) come first, through env', async () => {
    assert.deepEqual(await manager.interactiveCommand('pod', ['ps'], { tty: false, stdin: false }), [...inWorkdir, 'ps']);
    assert.deepEqual(await manager.interactiveCommand('pod', ['ps'], { tty: false, stdin: false, env: { MLTOOLBOX_EXEC_ID: '1-ab' } }),
      ['env', 'MLTOOLBOX_EXEC_ID=1-ab', ...inWorkdir, 'ps']);
  });

  it('in a pod with features, the session names the features\' env file and sources it before the command', async () => {
    const featured = createInstanceContainerManager({ ssh: {} as SshService, target: parseTarget('pod'), name: 'pod', image: 'img', featuresDir: '/var/lib/mltoolbox/projects/p' });
    const argv = await featured.interactiveCommand('pod', ['ps'], { tty: false, stdin: false, env: { MLTOOLBOX_EXEC_ID: '1-ab' } });
    assert.deepEqual(argv.slice(0, 3), ['env', 'MLTOOLBOX_FEATURES_ENV=/var/lib/mltoolbox/projects/p/env', 'MLTOOLBOX_EXEC_ID=1-ab']);
    assert.match(argv[5]!, /^cd "\$0" 2>\/dev\/null \|\| cd; if \[ -n "\$\{MLTOOLBOX_FEATURES_ENV:-\}" \] && \[ -r "\$MLTOOLBOX_FEATURES_ENV" \]; then \. "\$MLTOOLBOX_FEATURES_ENV"; fi; exec "\$@"$/);
    assert.deepEqual(argv.slice(6), ['/workspace', 'ps']);
  });
});
