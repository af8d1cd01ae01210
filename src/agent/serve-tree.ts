import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { gunzip } from 'node:zlib';
import { decodeEntries, entriesId, treeDigest } from '../core/tree-digest.ts';
import { FAST_TREE_LIMITS, parseFastQuestion, type FastTreeQuestion } from '../services/ssh/fast-channel.ts';
import type { Request } from './serve.ts';

/**
 * `mlt serve`'s `tree` requests (protocol in fast-channel.ts): the digest a
 * sync compares with its own before it decides that rsync has nothing to do
 * (docs/sync.md). The lists of paths are kept in memory, by their id: a
 * client sends one once, then names it.
 */
export class TreeLists {
  private readonly lists = new Map<string, readonly string[]>();
  private entries = 0;

  get(id: string): readonly string[] | undefined {
    const list = this.lists.get(id);
    if (list) {
      // Most recently used last: the first is the one to drop.
      this.lists.delete(id);
      this.lists.set(id, list);
    }
    return list;
  }

  add(id: string, list: readonly string[]): void {
    this.lists.delete(id);
    this.lists.set(id, list);
    this.entries += list.length;
    while (this.lists.size > 16 || (this.entries > 4_000_000 && this.lists.size > 1)) {
      const [oldest, dropped] = this.lists.entries().next().value!;
      this.lists.delete(oldest);
      this.entries -= dropped.length;
    }
  }
}

export function parseTreeQuestion(text: string): FastTreeQuestion {
  const { root, list } = parseFastQuestion(text, 'tree');
  if (typeof root !== 'string' || root === '' || root.includes('\0')) throw new Error('a tree request without a folder');
  if (typeof list !== 'string' || !/^[0-9a-f]{64}$/.test(list)) throw new Error('a tree request without a list id');
  return { root, list };
}

export function answerTree(socket: Socket, request: Request, context: { cwd: string; lists: TreeLists; log: (line: string) => void }): void {
  const fail = (why: string) => {
    context.log(`tree: ${why}`);
    socket.end(`error ${why.replace(/\n/g, ' ')}\n`);
  };
  let question: FastTreeQuestion;
  try {
    question = parseTreeQuestion(request.command);
  } catch (error) {
    fail((error as Error).message);
    return;
  }
  // The folder as a push names it: relative ones are under the home folder, where sshd (and this server) start.
  const root = resolve(context.cwd, question.root);
  const answer = (list: readonly string[]) => void treeDigest(root, list).then((digest) => socket.end(`digest ${digest}\n`), (error: unknown) => fail((error as Error).message));
  const known = context.lists.get(question.list);
  if (known) {
    answer(known);
    return;
  }
  socket.write('send-list\n');
  const chunks: Buffer[] = request.rest.length ? [request.rest] : [];
  let size = request.rest.length;
  socket.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > FAST_TREE_LIMITS.gzippedBytes) {
      fail(`the list is over ${FAST_TREE_LIMITS.gzippedBytes} bytes`);
      socket.destroy();
      return;
    }
    chunks.push(chunk);
  });
  socket.once('end', () => {
    if (socket.destroyed) return;
    gunzip(Buffer.concat(chunks), { maxOutputLength: FAST_TREE_LIMITS.bytes }, (error, bytes) => {
      if (error) {
        fail(`the list could not be read: ${error.message}`);
        return;
      }
      const list = decodeEntries(bytes.toString('utf8'));
      if (entriesId(list) !== question.list) {
        fail('the list is not the one named');
        return;
      }
      context.lists.add(question.list, list);
      answer(list);
    });
  });
}
