import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { parseHello, parseRequest, startServer } from '../../../src/agent/serve.ts';
import { FAST_FRAME, FAST_MAGIC, fastChannelRequest, fastHandshake, fastProof, parseFastChannel, serverProved, type FastHandshake, type FastMode } from '../../../src/services/ssh/fast-channel.ts';
import { encodeEntries, entriesId, treeDigest } from '../../../src/core/tree-digest.ts';

const TOKEN = 'ab'.repeat(32);

/**
 * A client of the real server: hello, the server's proof checked, then the
 * request made with `token` and stdin; the reply's bytes after the server's hello.
 */
function request(port: number, token: string, command: string, options: { framed?: boolean; mode?: FastMode; stdin?: string | Buffer; handshake?: FastHandshake } = {}): Promise<{ proved: boolean; reply: Buffer }> {
  return new Promise((resolve, reject) => {
    const handshake = options.handshake ?? fastHandshake({ port, token });
    const expected = fastHandshake({ port, token: TOKEN });
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`${FAST_MAGIC}${handshake.nonce}\n`));
    let data = Buffer.alloc(0);
    let proved: boolean | undefined;
    const timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5000);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (proved === undefined && data.includes(0x0a)) {
        const line = data.subarray(0, data.indexOf(0x0a)).toString('latin1');
        data = data.subarray(data.indexOf(0x0a) + 1);
        proved = serverProved({ ...expected, nonce: handshake.nonce, serverProof: fastProof(TOKEN, 'server', handshake.nonce) }, line);
        socket.end(Buffer.concat([fastChannelRequest(handshake, command, options.mode ?? (options.framed ? 'framed' : undefined)), Buffer.from(options.stdin ?? '')]));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ proved: proved === true, reply: data });
    });
  });
}

function frames(reply: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let at = 0; at < reply.length;) {
    const length = reply.readUInt32BE(at + 1);
    out.push([reply[at]!, reply.subarray(at + 5, at + 5 + length).toString()]);
    at += 5 + length;
  }
  return out;
}

describe('mlt serve (the fast channel)', () => {
  const logs: string[] = [];
  const started = startServer({ idleMs: 60_000, token: TOKEN, log: (l) => void logs.push(l), cwd: '/', env: { PATH: process.env.PATH } });
  after(async () => (await started).server.close());

  it('proves the token, then runs the command with /bin/sh in the given folder: stdin after the request, stdout back', async () => {
    const { port } = await started;
    const { proved, reply } = await request(port, TOKEN, 'pwd; cat; printf "[%s]" "$0"', { stdin: 'piped\n' });
    assert.equal(proved, true);
    assert.equal(reply.toString(), '/\npiped\n[/bin/sh]');
  });

  it('tree: asks for a list it does not hold, then answers the digest of those paths (relative to its folder), and names it next time', async () => {
    const { port } = await started;
    const dir = mkdtempSync(join(tmpdir(), 'mlt-serve-tree-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd', 'x'), 'x');
    const entries = ['./', 'd/', 'd/x', 'gone'];
    const question = JSON.stringify({ root: dir.slice(1), list: entriesId(entries) }); // relative: under the server's folder (/)
    const first = await request(port, TOKEN, question, { mode: 'tree', stdin: gzipSync(encodeEntries(entries)) });
    const digest = await treeDigest(dir, entries);
    assert.equal(first.reply.toString(), `send-list\ndigest ${digest}\n`);
    const known = await request(port, TOKEN, question, { mode: 'tree' });
    assert.equal(known.reply.toString(), `digest ${digest}\n`);
    writeFileSync(join(dir, 'd', 'x'), 'xy');
    assert.notEqual((await request(port, TOKEN, question, { mode: 'tree' })).reply.toString(), known.reply.toString());
    const other = JSON.stringify({ root: dir, list: entriesId(['./']) });
    assert.match((await request(port, TOKEN, other, { mode: 'tree', stdin: gzipSync(encodeEntries(['x'])) })).reply.toString(), /^send-list\nerror the list is not the one named\n$/);
    assert.match((await request(port, TOKEN, '{"root":"/"}', { mode: 'tree' })).reply.toString(), /^error a tree request without a list id\n$/);
    assert.match((await request(port, TOKEN, 'rm -rf /', { mode: 'tree' })).reply.toString(), /^error a tree request that is not a JSON object\n$/);
  });

  it('container: an engine that cannot be reached or a malformed request is refused before anything runs (no started frame)', async () => {
    const { port } = await started;
    const question = { socket: join(tmpdir(), 'mlt-no-engine.sock'), id: 'c1', argv: ['true'], stdin: false };
    const { reply } = await request(port, TOKEN, JSON.stringify(question), { mode: 'container' });
    const [[type, why]] = frames(reply) as [[number, string]];
    assert.equal(type, FAST_FRAME.refused);
    assert.match(why, /ENOENT|connect/);
    for (const [bad, message] of [
      [{ ...question, socket: 'relative.sock' }, /engine socket/],
      [{ ...question, argv: [] }, /command/],
      [{ ...question, env: { A: 1 } }, /environment/],
      [{ ...question, workdir: '' }, /folder or user/],
    ] as const) {
      const refused = frames((await request(port, TOKEN, JSON.stringify(bad), { mode: 'container' })).reply);
      assert.equal(refused[0]![0], FAST_FRAME.refused);
      assert.match(refused[0]![1], message);
    }
  });

  it('framed: started, then stdout and stderr frames, then the exit status (128+N for a signal)', async () => {
    const { port } = await started;
    const { reply } = await request(port, TOKEN, 'echo out; echo err >&2; exit 7', { framed: true });
    const got = frames(reply);
    assert.deepEqual(got[0], [0, '']);
    assert.deepEqual(got.filter(([t]) => t === 1), [[1, 'out\n']]);
    assert.deepEqual(got.filter(([t]) => t === 2), [[2, 'err\n']]);
    assert.deepEqual(got.at(-1), [3, '7']);
    assert.deepEqual(frames((await request(port, TOKEN, 'kill -9 $$', { framed: true })).reply).at(-1), [3, '137']);
  });

  it('refuses a client that cannot prove the token, a replayed nonce, and anything that is not a request, running nothing', async () => {
    const { port } = await started;
    logs.length = 0;
    const wrong = await request(port, 'cd'.repeat(32), 'echo ran');
    assert.equal(wrong.proved, true, 'the server proves itself to anyone who says hello');
    assert.equal(wrong.reply.length, 0);
    const once = fastHandshake({ port, token: TOKEN });
    assert.equal((await request(port, TOKEN, 'echo first', { handshake: once })).reply.toString(), 'first\n');
    const replay = await request(port, TOKEN, 'echo ran', { handshake: once });
    assert.equal(replay.reply.length, 0);
    const http = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => socket.write('GET / HTTP/1.1\r\n\r\n'));
      let text = '';
      socket.on('data', (c) => void (text += c));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
    assert.equal(http, '');
    assert.deepEqual(logs, ['refused a connection: wrong token', 'refused a connection: a nonce used before (a replayed request)', 'refused a connection: not an mlt fast-channel request']);
  });

  it('the handshake: proofs bind the token, the role and the nonce; the token itself never travels', () => {
    const channel = { port: 1, token: TOKEN };
    const handshake = fastHandshake(channel);
    assert.match(handshake.nonce, /^[0-9a-f]{32}$/);
    assert.notEqual(fastHandshake(channel).nonce, handshake.nonce, 'a new nonce every time');
    assert.equal(serverProved(handshake, fastProof(TOKEN, 'server', handshake.nonce)), true);
    assert.equal(serverProved(handshake, fastProof('cd'.repeat(32), 'server', handshake.nonce)), false, 'another token');
    assert.equal(serverProved(handshake, fastProof(TOKEN, 'server', fastHandshake(channel).nonce)), false, 'another nonce');
    assert.equal(serverProved(handshake, fastProof(TOKEN, 'client', handshake.nonce)), false, 'the client\'s proof is not the server\'s');
    assert.equal(serverProved(handshake, 'x'.repeat(64)), false);
    assert.equal(serverProved(handshake, `${handshake.serverProof.slice(0, 63)}${handshake.serverProof.endsWith('0') ? '1' : '0'}`), false, 'one character off');
    // The client hashes without node:crypto (start-up); the agent with it: the same bytes.
    assert.equal(fastProof(TOKEN, 'client', handshake.nonce), createHash('sha256').update(`${TOKEN}:client:${handshake.nonce}`).digest('hex'));
    assert.ok(!fastChannelRequest(handshake, 'true').toString().includes(TOKEN));
  });

  it('parseHello and parseRequest wait for whole lines, keep what follows, and refuse the rest', () => {
    const c = fastHandshake({ port: 1, token: TOKEN }).nonce;
    assert.equal(parseHello(Buffer.from('MLT')), undefined);
    assert.deepEqual(parseHello(Buffer.from(`MLT2 ${c}\nmore`)), { nonce: c, rest: Buffer.from('more') });
    assert.throws(() => parseHello(Buffer.from('SSH-2.0')), /not an mlt fast-channel request/);
    assert.throws(() => parseHello(Buffer.from('MLT2 short\n')), /not an mlt fast-channel request/);
    const proof = 'e'.repeat(64);
    assert.equal(parseRequest(Buffer.from(`${proof} framed\necho`)), undefined);
    const request = parseRequest(Buffer.from(`${proof} framed\necho a\nb\0rest`))!;
    assert.deepEqual([request.mode, request.command, request.rest.toString()], ['framed', 'echo a\nb', 'rest']);
    assert.equal(parseRequest(Buffer.from(`${proof}\nrsync\0`))!.mode, 'raw');
    assert.equal(parseRequest(Buffer.from(`${proof} tree\n{}\0`))!.mode, 'tree');
    assert.throws(() => parseRequest(Buffer.from(`${proof} other\nx\0`)), /not an mlt fast-channel request/);
  });

  it('parseFastChannel accepts only a port, a 64-hex token and a numeric pid', () => {
    assert.deepEqual(parseFastChannel(`noise from .bashrc\n{"port":4000,"token":"${TOKEN}","pid":7}\n`), { port: 4000, token: TOKEN, pid: 7 });
    assert.deepEqual(parseFastChannel(`{"port":4000,"token":"${TOKEN}","pid":"1; rm -rf ~"}`), { port: 4000, token: TOKEN });
    assert.equal(parseFastChannel(`{"port":70000,"token":"${TOKEN}"}`), undefined);
    assert.equal(parseFastChannel('{"port":4000,"token":"x\\nHost evil"}'), undefined);
    assert.equal(parseFastChannel('not json'), undefined);
  });

  it('stops once idle with no connection', async () => {
    await new Promise<void>((resolve) => {
      void startServer({ idleMs: 200, token: TOKEN, log: () => {}, cwd: '/', env: {}, onClose: resolve });
    });
  });
});
