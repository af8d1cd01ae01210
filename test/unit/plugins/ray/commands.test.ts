import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashboardUrl, rayHeadCommand, rayStopCommand, rayWorkerCommand } from '../../../../src/plugins/ray/commands.ts';

describe('ray commands', () => {
  it('head: ports from config, dashboard on all interfaces, no usage stats', () => {
    assert.deepEqual(rayHeadCommand({ port: 6380, dashboardPort: 8300 }), [
      'ray', 'start', '--head', '--port=6380', '--include-dashboard=true', '--dashboard-host=0.0.0.0', '--dashboard-port=8300', '--disable-usage-stats',
    ]);
  });

  it('head with host networking: the unauthenticated dashboard stays on loopback', () => {
    assert.ok(rayHeadCommand({ port: 6379, dashboardPort: 8265, hostNetwork: true }).includes('--dashboard-host=127.0.0.1'));
  });

  it('worker: joins the head address and port', () => {
    assert.deepEqual(rayWorkerCommand({ headAddress: '10.0.0.5', port: 6379 }), ['ray', 'start', '--address=10.0.0.5:6379', '--disable-usage-stats']);
  });

  it('worker: GPU limit and IPv6 head', () => {
    assert.deepEqual(rayWorkerCommand({ headAddress: 'fd00::5', port: 6379, numGpus: 2 }), [
      'ray', 'start', '--address=[fd00::5]:6379', '--num-gpus=2', '--disable-usage-stats',
    ]);
  });

  it('stop and dashboard URL', () => {
    assert.deepEqual(rayStopCommand(), ['ray', 'stop']);
    assert.equal(dashboardUrl(18265), 'http://127.0.0.1:18265');
  });
});
