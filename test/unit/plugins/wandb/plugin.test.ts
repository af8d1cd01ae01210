import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HookObject } from '../../../../src/plugin-api/index.ts';
import { wandbPlugin, type WandbSection } from '../../../../src/plugins/wandb/index.ts';
import { fakeContext, type FakeOptions } from '../fake-context.ts';

const KEY = 'f00dbabe0123456789abcdef0123456789abcdef';
const start = wandbPlugin.hooks!.containerStart as HookObject<'containerStart', WandbSection>;
const container = { id: 'c1', name: 'mlt-demo', image: 'img', action: 'created' as const, ports: [], workdir: '/workspace' };
const withKeyInEnv = { environment: { env: { WANDB_API_KEY: KEY } } };

async function runStart(options: FakeOptions<WandbSection>) {
  const fake = fakeContext(options);
  await start.handler({ container, config: {} }, fake.context);
  return fake;
}

describe('wandb plugin', () => {
  it('passes the key in the exec environment, never in argv, and reports the user', async () => {
    const fake = await runStart({ secrets: { wandb_api_key: KEY }, project: withKeyInEnv, exec: () => ({ stdout: 'MLT_WANDB ok alice\n' }) });
    assert.equal(fake.calls.length, 1);
    assert.deepEqual(fake.calls[0]!.env, { WANDB_API_KEY: KEY });
    assert.ok(!fake.calls[0]!.argv.some((a) => a.includes(KEY)));
    assert.ok(fake.logs.includes('success: W&B: logged in as alice'));
    assert.ok(!fake.logs.some((l) => l.includes(KEY)));
  });

  it('a configurable secret name', async () => {
    const fake = await runStart({ section: { secret: 'team_wandb' }, secrets: { team_wandb: KEY }, project: withKeyInEnv, exec: () => ({ stdout: 'MLT_WANDB ok\n' }) });
    assert.deepEqual(fake.calls[0]!.env, { WANDB_API_KEY: KEY });
    assert.ok(fake.logs.includes('success: W&B: logged in'));
  });

  it('a rejected key is a warning with the key scrubbed', async () => {
    const fake = await runStart({ secrets: { wandb_api_key: KEY }, project: withKeyInEnv, exec: () => ({ stdout: `MLT_WANDB failed AuthenticationError: bad key ${KEY}\n` }) });
    assert.ok(fake.logs.includes('warn: W&B: the API key did not work: AuthenticationError: bad key ***'));
  });

  it('wandb missing in the image is a warning', async () => {
    const fake = await runStart({ secrets: { wandb_api_key: KEY }, project: withKeyInEnv, exec: () => ({ stdout: 'MLT_WANDB not-installed\n' }) });
    assert.ok(fake.logs.some((l) => l.startsWith('warn: W&B: wandb is not installed')));
  });

  it('no secret: a warning with the command to set it, nothing run', async () => {
    const fake = await runStart({});
    assert.deepEqual(fake.calls, []);
    assert.ok(fake.logs.includes('warn: W&B: secret wandb_api_key is not set (mltoolbox secret set wandb_api_key)'));
  });

  it('warns when the container env does not carry the key', async () => {
    const fake = await runStart({ secrets: { wandb_api_key: KEY }, exec: () => ({ stdout: 'MLT_WANDB ok bob\n' }) });
    assert.ok(fake.logs.some((l) => l.includes('environment.env.WANDB_API_KEY: ${secret:wandb_api_key}')));
  });

  it('verify: false skips the check', async () => {
    const fake = await runStart({ section: { verify: false }, secrets: { wandb_api_key: KEY }, project: withKeyInEnv });
    assert.deepEqual(fake.calls, []);
  });

  it('wandb sync runs in the container with the key in env and scrubs output', async () => {
    const fake = fakeContext<WandbSection>({ secrets: { wandb_api_key: KEY }, exec: () => ({ stdout: `synced 2 runs ${KEY}\n` }) });
    const command = wandbPlugin.commands!.find((c) => c.name === 'wandb sync')!;
    const result = await command.run({ args: {}, options: {}, rest: [] }, fake.context);
    assert.deepEqual(fake.calls[0]!.argv, ['wandb', 'sync', '--sync-all']);
    assert.deepEqual(fake.calls[0]!.env, { WANDB_API_KEY: KEY });
    assert.equal(result && result.human, 'synced 2 runs ***\n');
  });
});

describe('wandb configLoaded', () => {
  const configLoaded = wandbPlugin.hooks!.configLoaded as (payload: { config: Record<string, unknown> }, context: unknown) => Promise<Record<string, unknown> | undefined>;
  it('adds WANDB_API_KEY as a secret reference (never the value) when the secret exists', async () => {
    const { context } = fakeContext<WandbSection>({ secrets: { wandb_api_key: KEY } });
    const config = await configLoaded({ config: { environment: { env: { A: '1' } } } }, context);
    assert.deepEqual(config, { environment: { env: { A: '1', WANDB_API_KEY: '${secret:wandb_api_key}' } } });
    assert.ok(!JSON.stringify(config).includes(KEY));
  });
  it('leaves the config alone when the user set the variable, or the secret is missing', async () => {
    assert.equal(await configLoaded({ config: withKeyInEnv }, fakeContext<WandbSection>({ secrets: { wandb_api_key: KEY } }).context), undefined);
    assert.equal(await configLoaded({ config: { environment: {} } }, fakeContext<WandbSection>({}).context), undefined);
  });
});

describe('wandb afterFetch', () => {
  const afterFetch = wandbPlugin.hooks!.afterFetch as HookObject<'afterFetch', WandbSection>;
  const payload = {
    fetch: { target: 'gpu-box', paths: ['outputs/'], localDir: '/tmp/demo', remoteDir: '/root/mltoolbox/demo' },
    result: { filesTransferred: 3, bytes: 100, deleted: 0, durationMs: 10 },
  };

  it('does nothing unless sync_after_fetch is on', async () => {
    const fake = fakeContext<WandbSection>({ secrets: { wandb_api_key: KEY } });
    await afterFetch.handler(payload, fake.context);
    assert.deepEqual(fake.calls, []);
    assert.deepEqual(fake.logs, []);
  });

  it('runs the same wandb sync as the command: key in the exec env, never argv; output scrubbed', async () => {
    const fake = fakeContext<WandbSection>({ section: { sync_after_fetch: true }, secrets: { wandb_api_key: KEY }, exec: () => ({ stdout: `Syncing ${KEY}\n` }) });
    await afterFetch.handler(payload, fake.context);
    assert.deepEqual(fake.calls.map((c) => [c.where, ...c.argv]), [['container', 'wandb', 'sync', '--sync-all']]);
    assert.deepEqual(fake.calls[0]!.env, { WANDB_API_KEY: KEY });
    assert.ok(fake.logs.includes('success: W&B: offline runs synced'), fake.logs.join('\n'));
    assert.ok(!fake.logs.some((l) => l.includes(KEY)));
  });

  it('a failing sync is an error (a warning from the host) with the key scrubbed', async () => {
    const fake = fakeContext<WandbSection>({ section: { sync_after_fetch: true }, secrets: { wandb_api_key: KEY }, exec: () => ({ exitCode: 1, stderr: `wandb: ERROR bad key ${KEY}\n` }) });
    await assert.rejects(async () => afterFetch.handler(payload, fake.context), (error: Error & { hint?: string }) =>
      error.message === 'wandb sync exited with 1: wandb: ERROR bad key ***' && /plugins run wandb sync/.test(error.hint ?? ''));
  });

  it('no secret: the error names the command that sets it; nothing runs', async () => {
    const fake = fakeContext<WandbSection>({ section: { sync_after_fetch: true } });
    await assert.rejects(async () => afterFetch.handler(payload, fake.context), (error: Error & { hint?: string }) => error.hint === 'mltoolbox secret set wandb_api_key');
    assert.deepEqual(fake.calls, []);
  });

  it('no running container: a warning, nothing runs', async () => {
    const fake = fakeContext<WandbSection>({ section: { sync_after_fetch: true }, secrets: { wandb_api_key: KEY }, container: false });
    await afterFetch.handler(payload, fake.context);
    assert.ok(fake.logs.some((l) => l.startsWith('warn: W&B: no running dev container')), fake.logs.join('\n'));
  });
});
