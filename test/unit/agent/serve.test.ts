import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { parseHeader, startServer, tokenMatches } from '../../../src/agent/serve.ts';
import { fastChannelRequest, parseFastChannel } from '../../../src/services/ssh/fast-channel.ts';

const TOKEN = 'ab'.repeat(32);

/** Sends bytes to the server, half-closes, and collects the reply (bounded). */
function request(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(bytes));
    let text = '';
    const timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => void (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe('mlt serve (the fast channel)', () => {
  const logs: string[] = [];
  const started = startServer({ idleMs: 60_000, token: Buffer.from(TOKEN), log: (l) => void logs.push(l), cwd: '/', env: { PATH: process.env.PATH } });
  after(async () => (await started).server.close());

  it('runs the command with /bin/sh in the given folder: stdin streamed after the header, stdout back', async () => {
    const { port } = await started;
    const reply = await request(port, Buffer.concat([fastChannelRequest({ port, token: TOKEN }, 'pwd; cat; printf "[%s]" "$0"'), Buffer.from('piped\n')]));
    assert.equal(reply, '/\npiped\n[/bin/sh]');
  });

  it('framed: started, then stdout and stderr frames, then the exit status (128+N for a signal)', async () => {
    const { port } = await started;
    const reply = Buffer.from(await request(port, fastChannelRequest({ port, token: TOKEN }, 'echo out; echo err >&2; exit 7', 'framed')), 'latin1');
    const frames: Array<[number, string]> = [];
    for (let at = 0; at < reply.length;) {
      const length = reply.readUInt32BE(at + 1);
      frames.push([reply[at]!, reply.subarray(at + 5, at + 5 + length).toString()]);
      at += 5 + length;
    }
    assert.deepEqual(frames[0], [0, '']);
    assert.deepEqual(frames.filter(([t]) => t === 1), [[1, 'out\n']]);
    assert.deepEqual(frames.filter(([t]) => t === 2), [[2, 'err\n']]);
    assert.deepEqual(frames.at(-1), [3, '7']);
    const killed = Buffer.from(await request(port, fastChannelRequest({ port, token: TOKEN }, 'kill -9 $$', 'framed')), 'latin1');
    assert.equal(killed.subarray(-3).toString(), '137');
  });

  it('refuses a wrong token, a wrong-length token and a request without the header, running nothing', async () => {
    const { port } = await started;
    logs.length = 0;
    assert.equal(await request(port, fastChannelRequest({ port, token: 'cd'.repeat(32) }, 'echo ran')), '');
    assert.equal(await request(port, fastChannelRequest({ port, token: 'ab' }, 'echo ran')), '');
    assert.equal(await request(port, Buffer.from('GET / HTTP/1.1\r\n\r\n')), '');
    assert.deepEqual(logs, ['refused a connection: wrong token', 'refused a connection: wrong token', 'refused a connection: not an mlt fast-channel request']);
  });

  it('parseHeader waits for the whole header and keeps what follows it', () => {
    assert.equal(parseHeader(Buffer.from('MLT')), undefined);
    assert.equal(parseHeader(Buffer.from(`MLT1 ${TOKEN}\necho`)), undefined);
    const header = parseHeader(Buffer.from(`MLT1 ${TOKEN}\necho a\nb\0rest`))!;
    assert.equal(header.command, 'echo a\nb');
    assert.equal(header.rest.toString(), 'rest');
    assert.throws(() => parseHeader(Buffer.from('SSH-2.0')), /not an mlt fast-channel request/);
    assert.throws(() => parseHeader(Buffer.from('MLT1 '.padEnd(300, 'x'))), /not an mlt fast-channel request/);
  });

  it('tokenMatches compares whole tokens', () => {
    assert.equal(tokenMatches(Buffer.from(TOKEN), TOKEN), true);
    assert.equal(tokenMatches(Buffer.from(TOKEN), TOKEN.slice(0, -1)), false);
    assert.equal(tokenMatches(Buffer.from(TOKEN), `${TOKEN.slice(0, -1)}c`), false);
  });

  it('parseFastChannel accepts only a port and a 64-hex token', () => {
    assert.deepEqual(parseFastChannel(`noise from .bashrc\n{"port":4000,"token":"${TOKEN}","pid":7}\n`), { port: 4000, token: TOKEN, pid: 7 });
    assert.deepEqual(parseFastChannel(`{"port":4000,"token":"${TOKEN}","pid":"1; rm -rf ~"}`), { port: 4000, token: TOKEN });
    assert.equal(parseFastChannel(`{"port":70000,"token":"${TOKEN}"}`), undefined);
    assert.equal(parseFastChannel('{"port":4000,"token":"x\\nHost evil"}'), undefined);
    assert.equal(parseFastChannel('not json'), undefined);
  });

  it('stops once idle with no connection', async () => {
    const closed = new Promise<void>((resolve) => {
      void startServer({ idleMs: 200, token: Buffer.from(TOKEN), log: () => {}, cwd: '/', env: {}, onClose: resolve });
    });
    await closed;
  });
});
