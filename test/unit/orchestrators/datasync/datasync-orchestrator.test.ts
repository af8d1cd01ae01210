import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUserError } from '../../../../src/core/errors.ts';
import { createSilentReporter } from '../../../../src/core/reporter.ts';
import type { ProcessRunner } from '../../../../src/infrastructure/process.ts';
import { createDataSyncOrchestrator, joinRemotePath } from '../../../../src/orchestrators/datasync/datasync-orchestrator.ts';
import { RcloneSyncManager } from '../../../../src/services/datasync/rclone-sync-manager.ts';

function orchestrator(calls: { command: string; args: readonly string[]; env?: NodeJS.ProcessEnv }[]) {
  const runner: ProcessRunner = async (command, args, options) => {
    calls.push({ command, args, ...(options?.env ? { env: options.env } : {}) });
    return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false };
  };
  return createDataSyncOrchestrator({
    projectDir: '/home/me/proj',
    env: { PATH: '/usr/bin' },
    reporter: createSilentReporter(),
    connection: async () => assert.fail('local mode must not open a connection'),
    rclone: async () => new RcloneSyncManager(),
    runner,
  });
}

describe('datasync orchestrator', () => {
  it('joins the project subfolder onto the rclone path', () => {
    assert.equal(joinRemotePath('gd:', 'p'), 'gd:p');
    assert.equal(joinRemotePath('gd:data', '/p/'), 'gd:data/p');
    assert.equal(joinRemotePath('gd:data/', 'p'), 'gd:data/p');
    assert.equal(joinRemotePath('gd:data', undefined), 'gd:data');
  });

  it('without a target runs rclone here, -l relative to the project, config by environment', async () => {
    const calls: { command: string; args: readonly string[]; env?: NodeJS.ProcessEnv }[] = [];
    const result = await orchestrator(calls).run({ direction: 'down', remote: 'gd:x', project: 'p', localDir: 'in', rcloneConfig: '/c/rclone.conf' });
    assert.equal(result.mode, 'local');
    assert.equal(calls[0]!.command, 'rclone');
    assert.deepEqual(calls[0]!.args.slice(0, 3), ['copy', 'gd:x/p', '/home/me/proj/in']);
    assert.equal(calls[0]!.env?.RCLONE_CONFIG, '/c/rclone.conf');
    assert.equal(calls[0]!.env?.PATH, '/usr/bin');
    const defaulted = await orchestrator(calls).run({ direction: 'up', remote: 'gd:x' });
    assert.equal(defaulted.source, '/home/me/proj/data');
  });

  it('refuses what it cannot do, with USAGE', async () => {
    const run = orchestrator([]).run;
    for (const options of [{ direction: 'up' as const }, { direction: 'up' as const, remote: 'a:b', mode: 'cloud' }, { direction: 'up' as const, remote: 'a:b', chunkSize: 'big' }]) {
      await assert.rejects(run(options), (e: unknown) => isUserError(e) && e.code === 'USAGE');
    }
  });
});
