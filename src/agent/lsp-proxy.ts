import { pathToFileURL } from 'node:url';
import { Transform, type Readable, type Writable } from 'node:stream';
import { UserError } from '../core/errors.ts';
import { locate, requireRunning, type AgentContext, type AgentOutcome } from './commands.ts';

/**
 * `mlt lsp-proxy -- CMD...`: a language server in the container for an
 * editor outside it. Every JSON-RPC message is rewritten both ways — any
 * string (or object key: WorkspaceEdit.changes is keyed by URI) that is a
 * `file://` URI or an absolute path under one side's root becomes the other
 * side's — including methods the proxy does not know by name.
 */

export interface PathPair {
  /** The editor's side: the project folder on the laptop (or on the host). */
  outside: string;
  /** The container's side: the workdir. */
  inside: string;
}

type Direction = 'in' | 'out';

function trim(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** A string rewriter for one direction: roots as paths, as encoded URIs and as raw URIs; the longest root wins. */
export function createRewriter(pairs: readonly PathPair[], direction: Direction): (text: string) => string {
  const rules: { from: string; to: string }[] = [];
  for (const pair of pairs) {
    const [from, to] = direction === 'in' ? [trim(pair.outside), trim(pair.inside)] : [trim(pair.inside), trim(pair.outside)];
    rules.push({ from: pathToFileURL(from).href, to: pathToFileURL(to).href });
    rules.push({ from: `file://${from}`, to: `file://${to}` });
    rules.push({ from, to });
  }
  rules.sort((a, b) => b.from.length - a.from.length);
  return (text) => {
    for (const { from, to } of rules) {
      if (text === from) return to;
      if (text.startsWith(from) && (text[from.length] === '/' || text[from.length] === '?' || text[from.length] === '#')) return to + text.slice(from.length);
    }
    return text;
  };
}

export function rewriteValue(value: unknown, rewrite: (text: string) => string): unknown {
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) return value.map((item) => rewriteValue(item, rewrite));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [rewrite(key), rewriteValue(item, rewrite)]));
  }
  return value;
}

/**
 * Splits a `Content-Length:`-framed stream into messages, rewrites each and
 * frames it again (the length changes with the paths). A body that is not
 * JSON passes through untouched.
 */
export function lspRewriteStream(rewrite: (text: string) => string): Transform {
  let buffer = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) break;
        const header = buffer.subarray(0, end).toString('latin1');
        const length = /content-length:\s*(\d+)/i.exec(header);
        if (!length) return callback(new Error(`LSP message without Content-Length: ${JSON.stringify(header.slice(0, 80))}`));
        const total = end + 4 + Number(length[1]);
        if (buffer.length < total) break;
        const body = buffer.subarray(end + 4, total);
        buffer = buffer.subarray(total);
        let out = body;
        try {
          out = Buffer.from(JSON.stringify(rewriteValue(JSON.parse(body.toString('utf8')), rewrite)), 'utf8');
        } catch {
          // not JSON: as it came
        }
        this.push(Buffer.concat([Buffer.from(`Content-Length: ${out.length}\r\n\r\n`, 'latin1'), out]));
      }
      callback();
    },
  });
}

/** Wires the editor's streams to the server's, rewriting both ways. */
export function proxyStreams(editorIn: Readable, editorOut: Writable, serverIn: Writable, serverOut: Readable, pairs: readonly PathPair[]): void {
  editorIn.pipe(lspRewriteStream(createRewriter(pairs, 'in'))).pipe(serverIn);
  serverOut.pipe(lspRewriteStream(createRewriter(pairs, 'out'))).pipe(editorOut, { end: false });
}

const PROJECT_PATH_LABEL = 'dev.mltoolbox.project-path';
const EOF_GRACE_MS = 5000;

export async function lspProxy(ctx: AgentContext): Promise<AgentOutcome> {
  if (ctx.args.rest.length === 0) throw new UserError('USAGE', 'mlt lsp-proxy needs the language server command', 'write: mlt lsp-proxy -- pyright-langserver --stdio');
  const { located, containers } = await locate(ctx);
  requireRunning(located);
  const info = await containers.inspect(located.container.id);
  const workdir = info?.workdir || '/workspace';
  // The laptop's project folder (connect labels the container with it) and the synced folder on this host both map to the workdir.
  const pairs: PathPair[] = [];
  const laptop = located.container.labels[PROJECT_PATH_LABEL];
  if (laptop?.startsWith('/')) pairs.push({ outside: laptop, inside: workdir });
  const synced = (info?.mounts ?? []).find((m) => m.type === 'bind' && m.destination === workdir)?.source;
  if (synced && synced !== laptop) pairs.push({ outside: synced, inside: workdir });
  const session = await containers.startExec(located.container.id, ctx.args.rest, { interactive: true, workdir });
  session.stderr.pipe(ctx.stderr, { end: false });
  proxyStreams(ctx.stdin, ctx.stdout, session.stdin!, session.stdout, pairs);
  // The editor went (its ssh closed our stdin): the server got EOF; one that does not exit on it is left behind after a grace period.
  const editorGone = new Promise<{ exitCode: number }>((resolve) => {
    ctx.stdin.once('end', () => setTimeout(() => {
      session.detach();
      resolve({ exitCode: 0 });
    }, EOF_GRACE_MS).unref());
  });
  const { exitCode } = await Promise.race([session.done, editorGone]);
  return { exitCode };
}
