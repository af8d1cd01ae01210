import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { Connection } from 'ssh2';
import { forwardAgent, frame, frameReader, LISTENER_SCRIPT } from '../../../src/agent/agent-forward.ts';
import type { ContainerManager } from '../../../src/services/containers/types.ts';

describe('agent forwarding frames', () => {
  it('a frame read back whole, however the bytes are cut', () => {
    const bytes = Buffer.concat([frame('D', 7, Buffer.from('hello agent')), frame('C', 7), frame('D', 65536, Buffer.alloc(70_000, 1))]);
    for (const cut of [1, 3, 9, 10, 4096, bytes.length]) {
      const seen: [string, number, number][] = [];
      const read = frameReader((type, id, payload) => seen.push([type, id, payload.length]));
      for (let i = 0; i < bytes.length; i += cut) read(bytes.subarray(i, i + cut));
      assert.deepEqual(seen, [['D', 7, 11], ['C', 7, 0], ['D', 65536, 70_000]], `cut every ${cut} bytes`);
    }
  });

  it('the listener keeps its socket private and removes it when the session ends', () => {
    assert.match(LISTENER_SCRIPT, /os\.umask\(0o177\)/);
    assert.match(LISTENER_SCRIPT, /mode=0o700/);
    assert.match(LISTENER_SCRIPT, /os\.unlink\(path\)/);
  });
});

/** A container whose listener is a PassThrough pair, and an ssh2 client whose agent channels are PassThroughs. */
function fakes(options: { ready: boolean }) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let exit: (code: number) => void = () => {};
  const session = { stdin, stdout, stderr: new PassThrough(), resize: async () => {}, detach: () => {}, done: new Promise<{ exitCode: number }>((resolve) => { exit = (exitCode) => resolve({ exitCode }); }) };
  const containers = { startExec: async () => session } as unknown as ContainerManager;
  const channels: PassThrough[] = [];
  let pending: ((error: Error | undefined, channel?: PassThrough) => void) | undefined;
  const client = {
    _chanMgr: { add: (callback: (error: Error | undefined, channel?: PassThrough) => void) => { pending = callback; return 1; } },
    _protocol: { openssh_authAgent: () => { const channel = new PassThrough(); channels.push(channel); pending?.(undefined, channel); } },
  } as unknown as Connection;
  if (options.ready) setImmediate(() => stdout.write(Buffer.from([0x52, 0, 0, 0, 0, 0, 0, 0, 0])));
  const open = (conn: number) => {
    const head = Buffer.alloc(9);
    head.write('O', 0, 'latin1');
    head.writeUInt32BE(conn, 1);
    stdout.write(head);
  };
  return { client, containers, stdin, channels, open, exit };
}

describe('agent forwarding: failures end a connection or the forward, never the server', () => {
  it('an error on an agent channel is handled (an unhandled one would end the whole ssh server)', async () => {
    const { client, containers, channels, open } = fakes({ ready: true });
    const forward = await forwardAgent(client, containers, 'c1');
    open(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(channels.length, 1);
    assert.doesNotThrow(() => channels[0]!.emit('error', new Error('channel closed by the client')));
    forward.stop();
  });

  it('a listener that never says ready is given up after the bound, and told to end', async () => {
    const { client, containers, stdin } = fakes({ ready: false });
    await assert.rejects(forwardAgent(client, containers, 'c1', 50), /did not start within/);
    assert.equal(stdin.writableEnded, true);
  });

  it('a listener that exits later takes its connections with it', async () => {
    const { client, containers, channels, open, exit } = fakes({ ready: true });
    await forwardAgent(client, containers, 'c1');
    open(1);
    await new Promise((resolve) => setImmediate(resolve));
    exit(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(channels[0]!.destroyed, true);
  });
});
