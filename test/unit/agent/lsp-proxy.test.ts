import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createRewriter, proxyStreams, rewriteValue } from '../../../src/agent/lsp-proxy.ts';

const pairs = [{ outside: '/home/me/my proj', inside: '/workspace' }, { outside: '/root/mltoolbox/p-1234abcd', inside: '/workspace' }];

function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

function readMessages(stream: PassThrough, count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const out: unknown[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${out.length} of ${count} messages`)), 10_000);
    stream.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) break;
        const length = Number(/Content-Length: (\d+)/.exec(buffer.subarray(0, end).toString())![1]);
        if (buffer.length < end + 4 + length) break;
        out.push(JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8')));
        buffer = buffer.subarray(end + 4 + length);
      }
      if (out.length >= count) {
        clearTimeout(timer);
        resolve(out);
      }
    });
  });
}

describe('lsp-proxy', () => {
  it('rewrites URIs (encoded or not) and paths under a root, keys included, and nothing else', () => {
    const toContainer = createRewriter(pairs, 'in');
    assert.equal(toContainer('file:///home/me/my%20proj/src/a.py'), 'file:///workspace/src/a.py');
    assert.equal(toContainer('file:///home/me/my proj/src/a.py'), 'file:///workspace/src/a.py');
    assert.equal(toContainer('/home/me/my proj'), '/workspace');
    assert.equal(toContainer('/home/me/my projX/a.py'), '/home/me/my projX/a.py', 'a sibling folder is not inside');
    assert.equal(toContainer('see /home/me/my proj/a.py'), 'see /home/me/my proj/a.py', 'only whole values');
    assert.deepEqual(rewriteValue({ changes: { 'file:///root/mltoolbox/p-1234abcd/x.py': [{ newText: 'x' }] } }, toContainer), { changes: { 'file:///workspace/x.py': [{ newText: 'x' }] } });
    assert.equal(createRewriter(pairs, 'out')('file:///workspace/src/a.py'), 'file:///home/me/my%20proj/src/a.py');
  });

  it('carries every message through a scripted JSON-RPC server both ways, unknown methods too', async () => {
    // The server echoes what it received and adds a URI and a path of its own (the container's).
    const server = spawn(process.execPath, ['-e', `
      let buf = Buffer.alloc(0);
      process.stdin.on('data', (c) => {
        buf = Buffer.concat([buf, c]);
        for (;;) {
          const end = buf.indexOf('\\r\\n\\r\\n'); if (end === -1) return;
          const len = Number(/Content-Length: (\\d+)/i.exec(buf.subarray(0, end).toString())[1]);
          if (buf.length < end + 4 + len) return;
          const msg = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString()); buf = buf.subarray(end + 4 + len);
          const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { got: msg.params, seen: JSON.stringify(msg.params), uri: 'file:///workspace/src/ü.py', path: '/workspace/out' } }));
          process.stdout.write('Content-Length: ' + body.length + '\\r\\n\\r\\n'); process.stdout.write(body);
        }
      });`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const editorIn = new PassThrough();
    const editorOut = new PassThrough();
    proxyStreams(editorIn, editorOut, server.stdin, server.stdout, pairs);
    const replies = readMessages(editorOut, 2);
    editorIn.write(frame({ jsonrpc: '2.0', id: 1, method: 'textDocument/definition', params: { textDocument: { uri: 'file:///home/me/my%20proj/src/a.py' } } }));
    editorIn.write(frame({ jsonrpc: '2.0', id: 2, method: '$/vendorThing', params: { roots: ['/home/me/my proj', '/etc/hosts'] } }));
    const [first, second] = (await replies) as { result: { got: unknown; seen: string; uri: string; path: string } }[];
    server.kill();
    // The server saw the container's paths; echoed back, they are the editor's again.
    assert.deepEqual(JSON.parse(first!.result.seen), { textDocument: { uri: 'file:///workspace/src/a.py' } });
    assert.deepEqual(first!.result.got, { textDocument: { uri: 'file:///home/me/my%20proj/src/a.py' } });
    assert.deepEqual(JSON.parse(second!.result.seen), { roots: ['/workspace', '/etc/hosts'] });
    assert.equal(first!.result.uri, 'file:///home/me/my%20proj/src/ü.py');
    assert.equal(first!.result.path, '/home/me/my proj/out');
    assert.deepEqual(second!.result.got, { roots: ['/home/me/my proj', '/etc/hosts'] });
  });
});
