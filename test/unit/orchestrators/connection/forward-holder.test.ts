import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { holderRunning, portAccepts, withoutControlOptions } from '../../../../src/services/host/forward-holder.ts';
import { kindOf } from '../../../../src/orchestrators/connection/forwards.ts';

describe('forward holders', () => {
  it("drops the shared master's Control options and keeps the rest in order", () => {
    const options = ['-F', '/x/config', '-o', 'BatchMode=yes', '-o', 'ControlMaster=auto', '-o', 'ControlPath=/s/abc', '-o', 'ControlPersist=10m', '-o', 'LogLevel=ERROR'];
    assert.deepEqual(withoutControlOptions(options), ['-F', '/x/config', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR']);
  });

  it('tells whether a local port accepts connections', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    assert.equal(await portAccepts(port), true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(await portAccepts(port), false);
  });

  it('a recorded pid that runs something else is not our holder (pid reuse)', async () => {
    assert.equal(await holderRunning(process.pid, '/nowhere/f0123456789abcde'), false);
    assert.equal(await holderRunning(2 ** 22 + 7, '/nowhere/f0123456789abcde'), false);
  });

  it('classifies recorded forwards', () => {
    assert.equal(kindOf({ remote: 'local', controlPath: null }), 'published');
    assert.equal(kindOf({ remote: 'gpu', controlPath: null }), 'session');
    assert.equal(kindOf({ remote: 'gpu', controlPath: '/run/x/fabc' }), 'detached');
  });
});
